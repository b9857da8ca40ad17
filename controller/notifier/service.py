"""The notifier: turns the controller's signals into incidents and delivers their messages.

``signal()`` only records (an incident and its queued messages, in one transaction) and wakes the
worker; the worker (``start()``) escalates and reminds, then drains the durable outbox through the
channels in order, so a slow modem never holds up the reconcile loop. See ``store.py`` for the
delivery guarantee (at most once per incident, transition and recipient).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from controller.clock import Clock, utcnow
from controller.config import HotlineConfig, Technician
from controller.coordination.base import JsonDoc
from controller.decide.schedule import on_call
from controller.notifier import gsm7
from controller.notifier import messages as texts
from controller.notifier.channels import Channel
from controller.notifier.delivery import Deliverer, mask
from controller.notifier.incidents import (
    Escalate,
    Incident,
    Recipient,
    due_action,
    escalation_order,
    new_ack_code,
    recipient_for,
    subscribers_for,
    technician_recipient,
)
from controller.notifier.outbox import Outbox
from controller.notifier.rows import OutboxRow
from controller.notifier.settings import NotifierSettings
from controller.notifier.shared import SharedIncidents, entry
from controller.notifier.signal import Signal
from controller.notifier.store import NotifierStore
from modem.e164 import is_e164

log = logging.getLogger("hotline.notifier")

_ACK = re.compile(r"^\s*ACK\s+([A-Za-z0-9]{4,8})\s*[.!]?\s*$", re.IGNORECASE)


class IncidentResolved(Exception):
    """An acknowledgement for an incident that is already resolved."""


class Notifier:
    """Implements ``SignalSink``; also the entry point for acknowledgements. Call alerts are
    queued through its ``outbox``; ``delivery`` drains it."""

    def __init__(
        self,
        cfg: HotlineConfig,
        settings: NotifierSettings,
        store: NotifierStore,
        channels: dict[str, Channel],
        *,
        clock: Clock = utcnow,
        is_leader: Callable[[], bool] | None = None,
    ) -> None:
        self.cfg = cfg
        self.is_leader = is_leader
        self.settings = settings
        self.store = store
        self.channels = channels
        self.clock = clock
        self.tz = cfg.oncall.timezone
        self._techs = {t.name: t for t in cfg.oncall.technicians}
        rotation = cfg.oncall.rotation.order if cfg.oncall.rotation else None
        self._order = escalation_order(tuple(self._techs), rotation)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.delivery = Deliverer(store, channels, settings, clock, self._undeliverable)
        self.outbox = Outbox(store, settings, channels, clock, self.tz, self._woken)
        self.shared: SharedIncidents | None = None  # set when clustered: incidents outlive leaders

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover rows a crash left in flight (never resent), then run the worker."""
        for row in self.store.recover_in_flight(self.clock()):
            log.warning(
                "notifier.delivery_unknown key=%s recipient=%s channel=%s reason=interrupted",
                row.message.key,
                mask(row.message.recipient),
                row.channel,
            )
        if not self._tasks:
            self._stopping.clear()
            self._tasks.append(asyncio.create_task(self._run(), name="notifier-timers"))
            for name in self.channels:
                lane = self.delivery.run_lane(name, self._stopping)
                self._tasks.append(asyncio.create_task(lane, name=f"notifier-{name}"))

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let in-flight sends finish (up to ``grace_s``) so they are not left ``unknown``."""
        tasks, self._tasks = self._tasks, []
        if tasks:
            self._stopping.set()
            self._woken(None)
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.store.close()

    def _woken(self, channel: str | None) -> None:
        self._wake.set()
        self.delivery.wake(channel)

    async def _run(self) -> None:
        """Timers: escalations, reminders and the outbox's housekeeping (each lane sends)."""
        while not self._stopping.is_set():
            self._wake.clear()  # before the pass: a signal arriving during it wakes the next one
            try:
                await self.tick()
                self.delivery.sweep()
            except Exception:
                log.exception("notifier.worker_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)

    async def run_once(self) -> int:
        """One pass: escalations and reminders, then every message due. Returns messages sent."""
        await self.tick()
        return await self.delivery.deliver_due(stopping=self._stopping)

    # -- signals ---------------------------------------------------------------------------

    async def signal(self, s: Signal) -> None:
        if not self.settings.enabled:
            return
        async with self._lock:
            current = self.store.open_incident_for(s.key)
            if current is None and self.shared is not None:
                prior = (await self.shared.load()).get(s.key)
                if prior is not None:
                    current = self._adopt(s, prior)
            if s.active and current is None:
                current = self._open(s)
            elif s.active and current is not None:
                self._refresh(current, s)
            elif not s.active and current is not None:
                self._resolve(current, s)
            if current is not None:
                await self._share(current.id)
        self._woken(None)

    def _adopt(self, s: Signal, prior: JsonDoc) -> Incident:
        """Continue an incident a previous leader opened (and notified): no second opening."""
        told = [str(x) for x in prior.get("told", [])]
        with self.store.transaction():
            inc_id = self.store.open_incident(
                key=s.key,
                severity=str(prior.get("severity", s.severity)),
                summary=str(prior.get("summary", s.summary)),
                detail=s.detail,
                route=prior.get("route"),
                epoch=s.epoch,
                code=str(prior["code"]),
                at=datetime.fromisoformat(prior["opened_at"]),
                assignee=str(prior.get("assignee", self._oncall_now(s.at).name)),
            )
            if prior.get("acked_by"):
                self.store.update_incident(inc_id, acked_at=s.at, acked_by=prior["acked_by"])
            for label in told:
                self.store.record_told(inc_id, label, s.at)
            self.store.add_timeline(
                inc_id, s.at, f"continued by this leader; already told: {', '.join(told) or '-'}"
            )
        log.info("notifier.incident_adopted id=%s key=%s told=%d", inc_id, s.key, len(told))
        inc = self.store.incident(inc_id)
        assert inc is not None
        return inc

    async def _share(self, incident_id: int) -> None:
        """Publish the incident's entry (or remove it once resolved) for the next leader."""
        inc = self.store.incident(incident_id)
        if self.shared is None or inc is None:
            return
        if inc.state != "open":
            await self.shared.publish(inc.key, None)
            return
        told = sorted({r.message.recipient for r in self.store.outbox(inc.id)})
        await self.shared.publish(inc.key, entry(inc, told))

    def _oncall_now(self, at: datetime) -> Technician:
        return on_call(self.cfg.oncall, at)

    def _unique_code(self) -> str:
        for _ in range(20):
            code = new_ack_code()
            if self.store.open_incident_by_code(code) is None:
                return code
        raise RuntimeError("no free acknowledgement code")  # 27^6 codes: practically unreachable

    def _open(self, s: Signal) -> Incident:
        tech = self._oncall_now(s.at)
        with self.store.transaction():
            inc_id = self.store.open_incident(
                key=s.key,
                severity=str(s.severity),
                summary=s.summary,
                detail=s.detail,
                route=s.route,
                epoch=s.epoch,
                code=self._unique_code(),
                at=s.at,
                assignee=tech.name,
            )
            self.store.add_timeline(inc_id, s.at, f"opened: {s.summary}")
            inc = self.store.incident(inc_id)
            assert inc is not None
            targets = [technician_recipient(tech), *subscribers_for(inc.severity, self.settings)]
            for r in targets:
                sms = texts.sms_open(inc, self.tz, tech.name, r.label)
                self._queue(inc, "open", r, sms, texts.email_subject(inc, "opened"))
        log.info(
            "notifier.incident_opened id=%s key=%s severity=%s assignee=%s recipients=%d",
            inc_id,
            s.key,
            s.severity,
            tech.name,
            len(targets),
        )
        return inc

    def _refresh(self, inc: Incident, s: Signal) -> None:
        """Keep the incident current; a new route is news for everyone already told."""
        if (s.summary, s.route, str(s.severity)) == (inc.summary, inc.route, inc.severity):
            return
        with self.store.transaction():
            self.store.update_incident(
                inc.id, summary=s.summary, detail=s.detail, route=s.route, severity=str(s.severity)
            )
            self.store.add_timeline(inc.id, s.at, f"update: {s.summary}")
            if s.route is None or s.route == inc.route:
                return
            n = self.store.count_timeline(inc.id, "calls now go to ") + 1
            self.store.add_timeline(inc.id, s.at, f"calls now go to {s.route}")
            now = replace(inc, summary=s.summary, route=s.route, severity=str(s.severity))
            oncall = self._oncall_now(s.at).name
            for label in self.store.recipients_of(inc.id):
                r = recipient_for(label, self._techs)
                if r is not None:
                    sms = texts.sms_route(now, self.tz, oncall, r.label, s.at)
                    self._queue(now, f"route{n}", r, sms, texts.email_subject(now, "route changed"))
        log.info("notifier.route_changed id=%s route=%s", inc.id, s.route)

    def _resolve(self, inc: Incident, s: Signal) -> None:
        with self.store.transaction():
            self.store.update_incident(
                inc.id, state="resolved", resolved_at=s.at, resolution=s.summary
            )
            self.store.add_timeline(inc.id, s.at, f"resolved: {s.summary}")
            told = self.store.queued_or_told(inc.id)  # the resolution supersedes the rest
            cancelled = self.store.cancel_pending(inc.id)
            done = replace(inc, state="resolved", resolved_at=s.at, resolution=s.summary)
            for label in told:
                r = recipient_for(label, self._techs)
                if r is None:
                    continue
                sms = texts.sms_resolve(done, self.tz, s.at, s.summary)
                self._queue(done, "resolve", r, sms, texts.email_subject(done, "resolved"))
        log.info(
            "notifier.incident_resolved id=%s key=%s recipients=%d cancelled=%d",
            inc.id,
            inc.key,
            len(told),
            cancelled,
        )

    # -- recipients and queueing -----------------------------------------------------------

    def _queue(self, inc: Incident, transition: str, r: Recipient, sms: str, subject: str) -> None:
        """Queue the SMS chain and (if configured) the detailed e-mail for one recipient."""
        body = texts.email_body(
            inc,
            self.tz,
            transition,
            self.store.timeline(inc.id),
            self._oncall_now(inc.opened_at).name,
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
        )

    def _undeliverable(self, row: OutboxRow, why: str) -> None:
        """A message no channel could carry: tell its recipient on the other channels and the
        on-call technician (never about a notice of this kind: no loops)."""
        m = row.message
        if m.kind == "undeliverable":
            return
        r = recipient_for(m.recipient, self._techs) or Recipient(m.recipient, m.mobile, m.email)
        others = tuple(c for c in (*self.settings.channels, "email") if c not in m.channels)
        sms = texts.sms_undeliverable(m.kind, m.recipient, m.channels, why)
        subject = gsm7.clean(f"[hotline] undeliverable {m.kind} message for {m.recipient}")
        body = f"{sms}\n\nKey: {m.key}\nLast error: {why}\n"
        targets = [(r, tuple(dict.fromkeys(others)))]
        oncall = self.oncall_recipient()
        if oncall.label != r.label:
            targets.append((oncall, (*self.settings.channels, "email")))
        for who, chain in targets:
            self.outbox.enqueue_on(
                key=f"{m.key}/undeliverable/{who.label}",
                kind="undeliverable",
                recipient=who,
                channels=tuple(dict.fromkeys(chain)),
                sms_text=sms,
                subject=subject,
                body=body,
            )

    def metrics_text(self) -> str:
        """Prometheus lines: sent, failures by outcome, undeliverable, queue per channel."""
        return self.delivery.metrics.render(self.store.queued_per_channel())

    def oncall_recipient(self, at: datetime | None = None) -> Recipient:
        return technician_recipient(self._oncall_now(at or self.clock()))

    # -- escalation, reminders, acknowledgement --------------------------------------------

    async def tick(self) -> None:
        """Escalations and reminders, on the leader only: a follower's incidents are stale."""
        if self.is_leader is not None and not self.is_leader():
            return
        now = self.clock()
        async with self._lock:
            for inc in self.store.incidents(state="open", limit=1000):
                first = self.store.first_assignee(inc.id)
                action = due_action(inc, now, self.settings, self._order, first)
                if action is None:
                    continue
                if isinstance(action, Escalate):
                    self._escalate(inc, action, now)
                else:
                    self._remind(inc, action.number, now)

    def _escalate(self, inc: Incident, action: Escalate, now: datetime) -> None:
        tech = self._techs[action.to]
        with self.store.transaction():
            self.store.update_incident(
                inc.id, assignee=tech.name, escalation_level=action.level, last_escalated_at=now
            )
            self.store.add_timeline(
                inc.id, now, f"escalated to {tech.name} (no acknowledgement from {inc.assignee})"
            )
            moved = replace(inc, assignee=tech.name, escalation_level=action.level)
            oncall = self._oncall_now(inc.opened_at).name
            sms = texts.sms_escalate(moved, self.tz, oncall, tech.name, inc.assignee)
            self._queue(
                moved,
                f"escalate{action.level}",
                technician_recipient(tech),
                sms,
                texts.email_subject(moved, f"escalated to {tech.name}"),
            )
        log.warning(
            "notifier.escalated id=%s from=%s to=%s level=%d",
            inc.id,
            inc.assignee,
            tech.name,
            action.level,
        )

    def _remind(self, inc: Incident, number: int, now: datetime) -> None:
        tech = self._techs.get(inc.assignee)
        with self.store.transaction():
            self.store.update_incident(inc.id, reminders=number, last_reminded_at=now)
            self.store.add_timeline(inc.id, now, f"reminder {number} to {inc.assignee}")
            if tech is not None:
                oncall = self._oncall_now(inc.opened_at).name
                sms = texts.sms_remind(inc, self.tz, oncall, tech.name)
                self._queue(
                    inc,
                    f"remind{number}",
                    technician_recipient(tech),
                    sms,
                    texts.email_subject(inc, "still open"),
                )
        log.info("notifier.reminded id=%s to=%s number=%d", inc.id, inc.assignee, number)

    async def acknowledge(self, incident_id: int, who: str, via: str) -> Incident | None:
        """Record who took the incident; None if there is no such incident. Idempotent."""
        now = self.clock()
        async with self._lock:
            inc = self.store.incident(incident_id)
            if inc is None:
                return None
            if inc.state != "open":
                raise IncidentResolved(f"incident {incident_id} is resolved")
            if inc.acked_at is not None:
                return inc
            with self.store.transaction():
                self.store.update_incident(inc.id, acked_at=now, acked_by=who)
                self.store.add_timeline(inc.id, now, f"acknowledged by {who} via {via}")
                self.store.cancel_pending(inc.id, kinds_prefix=("remind", "escalate"))
            await self._share(inc.id)
        log.info("notifier.acknowledged id=%s by=%s via=%s", incident_id, who, via)
        return self.store.incident(incident_id)

    async def handle_incoming_sms(self, sender: str, text: str) -> bool:
        """``ACK <code>`` from a known technician's mobile acknowledges; all else is ignored.

        The daemon hands over every SMS that reaches the modem (``ModemDevice.incoming()``)."""
        tech = next((t for t in self._techs.values() if t.mobile == sender), None)
        if not is_e164(sender) or tech is None:
            log.warning("notifier.sms_ignored sender=%s reason=unknown_sender", mask(sender))
            return False
        m = _ACK.match(text)
        if m is None:
            log.info("notifier.sms_ignored sender=%s reason=not_an_ack", mask(sender))
            return False
        inc = self.store.open_incident_by_code(m.group(1).upper())
        if inc is None:
            log.warning("notifier.sms_ignored sender=%s reason=unknown_code", mask(sender))
            return False
        await self.acknowledge(inc.id, tech.name, "sms")
        return True
