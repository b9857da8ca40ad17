"""Filling the durable outbox: what one recipient should get for one transition.

A message goes as an SMS chain (the configured channels in order, e-mail last if listed) and, when
an e-mail copy is wanted, as a detailed e-mail of its own. Low severities are held until the end
of the quiet hours. Each row's idempotency key makes queueing the same transition twice a no-op
(``store.py``); the worker (``delivery.py``) drains what is due.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from controller.clock import Clock
from controller.notifier.channels import Channel
from controller.notifier.delivery import usable
from controller.notifier.incidents import Recipient, quiet_until
from controller.notifier.routing import Progress, first_cursor
from controller.notifier.rows import Message
from controller.notifier.settings import NotifierSettings
from controller.notifier.store import NotifierStore


class Outbox:
    """Queues messages and wakes the worker (``wake``) so they go out without waiting a poll."""

    def __init__(
        self,
        store: NotifierStore,
        settings: NotifierSettings,
        channels: Mapping[str, Channel],
        clock: Clock,
        tz: str,
        wake: Callable[[str | None], None],
    ) -> None:
        self._store = store
        self._settings = settings
        self._channels = channels
        self._clock = clock
        self._tz = tz
        self._wake = wake

    def _email_copy(self, r: Recipient, email: bool | None) -> bool:
        wanted = self._settings.email_copy if email is None else email
        return wanted and r.email is not None and "email" in self._channels

    def enqueue(
        self,
        *,
        key: str,
        kind: str,
        severity: str,
        recipient: Recipient,
        sms_text: str,
        subject: str,
        body: str,
        incident_id: int | None = None,
        sms: bool = True,
        email: bool | None = None,
        delay_s: float = 0.0,
    ) -> int:
        """Queue what ``recipient`` should get: the SMS chain and/or the e-mail. Returns rows added.

        ``email``: None sends the detailed e-mail as ``notifier.email_copy`` says, True always
        (missed calls), False never. With an e-mail going anyway, the SMS chain does not fall
        through to e-mail (that would send the same person two e-mails).
        """
        if not self._settings.enabled:
            return 0
        now = self._clock()
        hold = quiet_until(self._settings.quiet_hours, severity, now, self._tz)
        if delay_s > 0:  # a grouping delay: the rest of the outage may still come
            hold = max(hold or now, now + timedelta(seconds=delay_s))
        copy = self._email_copy(recipient, email)
        added = 0
        if sms and (recipient.mobile or not copy):
            chain = tuple(c for c in self._settings.channels if not (copy and c == "email"))
            m = Message(
                key=key,
                kind=kind,
                severity=severity,
                recipient=recipient.label,
                channels=chain,
                sms_text=sms_text,
                subject=subject,
                body=body,
                mobile=recipient.mobile,
                email=recipient.email,
                incident_id=incident_id,
            )
            added += self._add(m, now, hold)
        if copy:
            m = Message(
                key=key + "/email",
                kind=kind,
                severity=severity,
                recipient=recipient.label,
                channels=("email",),
                sms_text=sms_text,
                subject=subject,
                body=body,
                email=recipient.email,
                incident_id=incident_id,
            )
            added += self._add(m, now, hold)
        return added

    def enqueue_on(
        self,
        *,
        key: str,
        kind: str,
        recipient: Recipient,
        channels: tuple[str, ...],
        sms_text: str,
        subject: str,
        body: str,
    ) -> int:
        """Queue one message on exactly ``channels`` (no quiet hours: it reports a failure)."""
        m = Message(
            key=key,
            kind=kind,
            severity="warning",
            recipient=recipient.label,
            channels=channels,
            sms_text=sms_text,
            subject=subject,
            body=body,
            mobile=recipient.mobile,
            email=recipient.email,
        )
        return self._add(m, self._clock(), None)

    def _add(self, m: Message, now: datetime, hold: datetime | None) -> int:
        cursor = first_cursor(m.channels, usable(self._channels, m), Progress())
        added = int(self._store.enqueue(m, now, hold, cursor))
        if added:
            self._wake(cursor)
        return added
