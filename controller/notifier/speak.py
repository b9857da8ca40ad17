"""Putting an incident's news into words and into the outbox: the recipient's language, the SMS,
the e-mail subject and body, the idempotency key. ``Notifier`` decides *what* happened; this
module says it to each person."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from controller.clock import Clock
from controller.config import HotlineConfig
from controller.decide.schedule import on_call
from controller.notifier import gsm7
from controller.notifier import messages as m
from controller.notifier.incidents import Incident, Recipient
from controller.notifier.outbox import Outbox
from controller.notifier.rows import OutboxRow
from controller.notifier.settings import NotifierSettings
from controller.notifier.store import NotifierStore
from controller.notifier.texts import Components, Texts, route_words

_UNTIL = re.compile(r"until (\d{4}-\d\d-\d\d \d\d:\d\d) UTC")

ABOUT = {
    "open": "opened",
    "update": "update",
    "remind": "still open",
    "escalate": "escalated to you",
    "resolve": "resolved",
}


class Speaker:
    def __init__(
        self,
        cfg: HotlineConfig,
        settings: NotifierSettings,
        store: NotifierStore,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self.cfg = cfg
        self.settings = settings
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.tz = cfg.oncall.timezone
        descriptions = {n: c.description for n, c in cfg.components.items()}
        self.comps = Components(descriptions, (cfg.pbx_cluster.name, "PBX cluster"))
        self._texts: dict[str, Texts] = {}
        self._replies = 0

    def texts(self, label: str) -> Texts:
        """The language of ``label`` (a technician's name; subscribers get the default)."""
        return self.language(self.settings.languages.get(label, self.settings.language))

    def language(self, lang: str) -> Texts:
        if lang not in self._texts:
            plain = self.settings.transliterate
            self._texts[lang] = Texts(lang, self.settings.templates.get(lang), plain)
        return self._texts[lang]

    def all_texts(self) -> list[Texts]:
        """Every configured language (an SMS command may come in any of them)."""
        langs = sorted({self.settings.language, *self.settings.languages.values()})
        return [self.language(lang) for lang in langs]

    def oncall(self, at: datetime) -> str:
        return on_call(self.cfg.oncall, at).name

    # -- incidents -------------------------------------------------------------------------

    def incident(
        self,
        inc: Incident,
        transition: str,
        r: Recipient,
        template: str,
        *,
        at: datetime | None = None,
        delay_s: float = 0.0,
        text: str | None = None,
        lead: str | None = None,
        news: str | None = None,
        **extra: object,
    ) -> None:
        """Queue ``transition`` of ``inc`` for ``r``: the SMS chain and (if configured) the
        e-mail, both in ``r``'s language."""
        sms, subject, body = self.words(
            inc, r, template, at=at, text=text, lead=lead, news=news, **extra
        )
        self.outbox.enqueue(
            key=f"inc{inc.id}/{transition}/{r.label}",
            kind=transition,
            severity=inc.severity,
            recipient=r,
            sms_text=sms,
            subject=subject,
            body=body,
            incident_id=inc.id,
            delay_s=delay_s,
        )

    def words(
        self,
        inc: Incident,
        r: Recipient,
        template: str,
        *,
        at: datetime | None = None,
        text: str | None = None,
        lead: str | None = None,
        news: str | None = None,
        **extra: object,
    ) -> tuple[str, str, str]:
        t = self.texts(r.label)
        oncall = self.oncall(at or inc.opened_at)
        sms = text or m.sms(
            t, template, self.comps, inc, self.tz, oncall, r.label, at, lead, **extra
        )
        # A resolution's news is what ended it, not the last thing that broke (the subject
        # once read "resolved: hotline now forwards to secondary" when calls were back).
        what_ = news if news is not None else m.what(t, self.comps, inc, lead)
        subject = m.email_subject(inc, what_, ABOUT.get(template, template))
        body = m.email_body(inc, self.tz, sms, self.store.timeline(inc.id), oncall)
        return sms, subject, body

    def upgrade_unsent(self, inc: Incident, r: Recipient) -> bool:
        """Rewrite ``r``'s opening in place if no channel has tried it yet."""
        sms, subject, body = self.words(inc, r, "open")
        key = f"inc{inc.id}/open/{r.label}"
        now = self.clock()
        done = self.store.rewrite_unsent(key, sms, subject, body, inc.severity, now)
        self.store.rewrite_unsent(key + "/email", sms, subject, body, inc.severity, now)
        return done

    def resolved(self, inc: Incident, r: Recipient, at: datetime, member: str) -> None:
        t = self.texts(r.label)
        sms = m.sms_resolve(t, inc, self.tz, at, member, inc.resolution)
        news = m.resolution(t, member, inc.resolution)
        self.incident(inc, "resolve", r, "resolve", at=at, text=sms, news=news)

    # -- notices and replies ---------------------------------------------------------------

    def notice(self, kind: str, key: str, r: Recipient, *, by: str, why: str, route: str | None,
               detail: str, at: datetime) -> None:  # fmt: skip
        """Information (a manual move, a pause): no incident, no acknowledgement."""
        t = self.texts(r.label)
        until = "?"
        found = _UNTIL.search(detail)
        if found:
            when = datetime.fromisoformat(found.group(1) + "+00:00")
            until = when.astimezone(ZoneInfo(self.tz)).strftime("%H:%M")
        words = route_words(t, route, self.oncall(at), r.label)
        sms = t.sms(kind, {"who": by, "why": gsm7.clean(why), "route": words, "until": until},
                    shrink="why")  # fmt: skip
        self.outbox.enqueue(
            key=key,
            kind=kind,
            severity="info",
            recipient=r,
            sms_text=sms,
            subject=gsm7.clean(f"[hotline info] {sms}")[:200],
            body=sms + "\n\n" + gsm7.clean(detail) + "\n",
        )

    def reply(self, r: Recipient, text: str, at: datetime, about: str) -> None:
        """An answer to a technician's SMS: by SMS only (the channels without e-mail)."""
        chain = tuple(c for c in self.settings.channels if c != "email")
        if not chain:
            return
        self._replies += 1
        self.outbox.enqueue_on(
            key=f"reply/{r.label}/{at.timestamp():.6f}/{about}{self._replies}",
            kind="reply",
            recipient=r,
            channels=chain,
            sms_text=text,
            subject=gsm7.clean(f"[hotline] {text}")[:200],
            body=text + "\n",
        )

    def undeliverable(
        self, row: OutboxRow, why: str, r: Recipient | None, oncall: Recipient
    ) -> None:
        """A message no channel could carry: tell its recipient on the other channels and the
        on-call technician (never about a notice of this kind or a reply: no loops)."""
        m = row.message
        if m.kind in ("undeliverable", "reply"):
            return
        r = r or Recipient(m.recipient, m.mobile, m.email)
        every = (*self.settings.channels, "email")
        targets = [(r, tuple(c for c in every if c not in m.channels))]
        if oncall.label != r.label:
            targets.append((oncall, every))
        for who, chain in targets:
            t = self.texts(who.label)
            values = {"kind": m.kind, "recipient": m.recipient, "channels": "/".join(m.channels)}
            sms = t.sms("undeliverable", values | {"why": why}, shrink="why")
            self.outbox.enqueue_on(
                key=f"{m.key}/undeliverable/{who.label}",
                kind="undeliverable",
                recipient=who,
                channels=tuple(dict.fromkeys(chain)),
                sms_text=sms,
                subject=gsm7.clean(f"[hotline] undeliverable {m.kind} for {m.recipient}"),
                body=f"{sms}\n\nKey: {m.key}\nLast error: {why}\n",
            )
