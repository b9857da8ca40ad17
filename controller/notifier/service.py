"""The notifier: turns the controller's signals into incidents and delivers their messages.

``signal()`` only records (an incident and its queued messages, in one transaction) and wakes the
workers: one timer task (escalations, reminders, the outbox's housekeeping) and one lane per
channel (``delivery.py``), so a slow modem never holds up the reconcile loop and a hung SMTP server
no SMS. The signals of one outage (route, flapping, modem, a failed switch, a pause on a dead
route) are members of one incident (``incidents.group_of``): one opening, updates when news
arrives (or, while the opening is still unsent, the opening rewritten in place), one resolution
when the last member clears. ``manual`` and ``paused`` are notices, not pages. Numbers and codes
continue across leaders through the coordinator (``shared.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from controller.clock import Clock, utcnow
from controller.config import HotlineConfig, Technician
from controller.coordination.base import JsonDoc
from controller.decide.schedule import on_call
from controller.notifier import followup
from controller.notifier.channels import Channel
from controller.notifier.delivery import Deliverer, mask
from controller.notifier.incidents import (
    NOTICES,
    Escalate,
    Incident,
    Recipient,
    due_action,
    escalation_order,
    group_of,
    new_ack_code,
    outranks,
    recipient_for,
    subscribers_for,
    technician_recipient,
    top_severity,
)
from controller.notifier.outbox import Outbox
from controller.notifier.rows import OutboxRow
from controller.notifier.settings import NotifierSettings
from controller.notifier.shared import SharedIncidents, entry
from controller.notifier.signal import Signal
from controller.notifier.speak import Speaker
from controller.notifier.store import NotifierStore

if TYPE_CHECKING:
    from controller.metrics.notifier import NotifierCollector

log = logging.getLogger("hotline.notifier")

QUIET_MEMBERS = frozenset({"flapping", "drift"})  # joining an open outage is no news by itself


class IncidentResolved(Exception):
    """An acknowledgement for an incident that is already resolved."""


def _member(s: Signal) -> dict[str, Any]:
    return {
        "severity": str(s.severity),
        "summary": s.summary,
        "detail": s.detail,
        "down": list(s.down),
        "by": s.by,
        "why": s.why,
    }


class Notifier:
    """Implements ``SignalSink``; also the entry point for acknowledgements and SMS commands.
    Call alerts are queued through its ``outbox``; ``delivery`` drains it."""

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
        self.say = Speaker(cfg, settings, store, self.outbox, clock)
        self.shared: SharedIncidents | None = None  # set when clustered: incidents outlive leaders
        self.route_now: Callable[[], str | None] | None = None  # for STATUS (the daemon sets it)
        self._synced = False  # this turn as leader has taken the cluster's incidents (continuity)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Rows a crash left in flight are an unknown outcome: never resent on their channel,
        one copy on the next (``Deliverer.interrupted``); then run the workers."""
        for row in self.store.recover_in_flight(self.clock()):
            again = self.delivery.interrupted(row)
            log.warning(
                "notifier.delivery_unknown key=%s recipient=%s channel=%s reason=interrupted"
                " copy_on=%s",
                row.message.key,
                mask(row.message.recipient),
                row.channel,
                again or "-",
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

    def collector(self) -> NotifierCollector:
        """Its Prometheus collector: outbox per channel, deliveries, incidents (``/metrics``)."""
        from controller.metrics.notifier import NotifierCollector

        return NotifierCollector(self)

    # -- signals ---------------------------------------------------------------------------

    async def signal(self, s: Signal) -> None:
        if not self.settings.enabled:
            return
        if s.key in NOTICES:
            if s.active:
                await self._notice(s)
            self._woken(None)
            return
        group = group_of(s.key)
        async with self._lock:
            await self._take_cluster_incidents()
            current = self.store.open_incident_for(group)
            if current is None and self.shared is not None:
                prior = (await self.shared.load()).get(group)
                if prior is not None:
                    current = self._adopt(group, s, prior)
            if s.active and current is None:
                number = await self._next_number()
                current = self._open(group, s, number)
            elif s.active and current is not None:
                current = self._member_on(current, s)
            elif current is not None:
                current = self._member_off(current, s)
            if current is not None:
                await self._share(current.id)
        self._woken(None)

    async def _next_number(self) -> int | None:
        local = self.store.max_incident_id() + 1
        if self.shared is None:
            return None
        return await self.shared.take_number(local)

    def _adopt(self, group: str, s: Signal, prior: JsonDoc) -> Incident:
        """Continue an incident a previous leader opened (and notified): no second opening."""
        return followup.adopt(self.store, group, s, prior, self._oncall_now(s.at).name)

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

    def _open(self, group: str, s: Signal, number: int | None) -> Incident:
        tech = self._oncall_now(s.at)
        with self.store.transaction():
            inc_id = self.store.open_incident(
                key=group,
                severity=str(s.severity),
                summary=s.summary,
                detail=s.detail,
                route=s.route,
                epoch=s.epoch,
                code=self._unique_code(),
                at=s.at,
                assignee=tech.name,
                number=number,
                members=json.dumps({s.key: _member(s)}),
            )
            self.store.add_timeline(inc_id, s.at, f"opened: {s.summary}")
            inc = self.store.incident(inc_id)
            assert inc is not None
            delay = 0.0 if inc.severity == "critical" else self.settings.group_delay_s
            targets = [technician_recipient(tech), *subscribers_for(inc.severity, self.settings)]
            for r in targets:
                self.say.incident(inc, "open", r, "open", delay_s=delay)
        log.info(
            "notifier.incident_opened id=%s key=%s member=%s severity=%s assignee=%s recipients=%d",
            inc_id,
            group,
            s.key,
            s.severity,
            tech.name,
            len(targets),
        )
        return inc

    def _member_on(self, inc: Incident, s: Signal) -> Incident:
        """A signal of an open outage: keep it current; news goes to everyone concerned."""
        members = {**inc.members, s.key: _member(s)}
        severity = top_severity(members, inc.severity)
        route = s.route if s.route is not None else inc.route
        moved = s.key == "route" and route != inc.route
        news = (s.key not in inc.members and s.key not in QUIET_MEMBERS) or moved
        news = news or outranks(severity, inc.severity)
        if members == inc.members and not moved:
            return inc
        now = replace(inc, members=members, severity=severity, route=route, summary=s.summary)
        with self.store.transaction():
            self.store.update_incident(
                inc.id,
                members=json.dumps(members),
                severity=severity,
                route=route,
                summary=s.summary,
                detail=s.detail,
            )
            self.store.add_timeline(inc.id, s.at, f"{s.key}: {s.summary}")
            if news:
                self._tell_update(now, s.at, s.key)
        log.info("notifier.incident_updated id=%s member=%s news=%s", inc.id, s.key, news)
        return now

    def _tell_update(self, inc: Incident, at: datetime, lead: str | None = None) -> None:
        n = self.store.count_timeline(inc.id, "update sent") + 1
        self.store.add_timeline(inc.id, at, f"update sent ({n})")
        for label in self.store.queued_or_told(inc.id) or self.store.recipients_of(inc.id):
            r = recipient_for(label, self._techs)
            if r is not None and not self.say.upgrade_unsent(inc, r):
                self.say.incident(inc, f"update{n}", r, "update", at=at, lead=lead)
        for label in self._unsent_openings(inc):
            r = recipient_for(label, self._techs)
            if r is not None:
                self.say.upgrade_unsent(inc, r)

    def _unsent_openings(self, inc: Incident) -> list[str]:
        return [
            row.message.recipient
            for row in self.store.outbox(inc.id)
            if row.message.kind == "open" and row.state == "pending" and row.unknown_on is None
        ]

    def _member_off(self, inc: Incident, s: Signal) -> Incident:
        if s.key not in inc.members:
            return inc
        members = {k: v for k, v in inc.members.items() if k != s.key}
        if not members:
            return self._resolve(inc, s)
        now = replace(inc, members=members, severity=top_severity(members, inc.severity))
        if s.route is not None and s.key == "route":
            now = replace(now, route=s.route)
        with self.store.transaction():
            self.store.update_incident(
                inc.id, members=json.dumps(members), severity=now.severity, route=now.route
            )
            self.store.add_timeline(inc.id, s.at, f"{s.key} cleared: {s.summary}")
            if s.key == "route":  # calls are back although something else is still wrong
                self._tell_update(now, s.at)
        return now

    def _resolve(self, inc: Incident, s: Signal) -> Incident:
        done = replace(inc, state="resolved", resolved_at=s.at, resolution=s.summary, members={})
        with self.store.transaction():
            self.store.update_incident(
                inc.id, state="resolved", resolved_at=s.at, resolution=s.summary, members="{}"
            )
            self.store.add_timeline(inc.id, s.at, f"resolved: {s.summary}")
            told = self.store.queued_or_told(inc.id)  # the resolution supersedes the rest
            cancelled = self.store.cancel_pending(inc.id)
            for label in told:
                r = recipient_for(label, self._techs)
                if r is not None:
                    self.say.resolved(done, r, s.at, s.key)
        log.info(
            "notifier.incident_resolved id=%s key=%s recipients=%d cancelled=%d",
            inc.id,
            inc.key,
            len(told),
            cancelled,
        )
        return done

    async def _notice(self, s: Signal) -> None:
        """A person's action, as information to the on-call technician and info subscribers;
        once per action even across leaders (the ledger remembers the last of each kind)."""
        ident = f"{s.by}|{s.why}|{s.route}|" + (s.detail if s.key == "paused" else s.at.isoformat())
        if self.shared is not None and not await self.shared.new_notice(s.key, ident):
            return
        targets = [self.oncall_recipient(s.at), *subscribers_for("info", self.settings)]
        for r in targets:
            key = f"notice/{s.key}/{s.at.timestamp():.3f}/{r.label}"
            self.say.notice(s.key, key, r, by=s.by or "?", why=s.why, route=s.route,
                            detail=s.detail, at=s.at)  # fmt: skip
        log.info("notifier.notice kind=%s by=%s recipients=%d", s.key, s.by, len(targets))

    def _undeliverable(self, row: OutboxRow, why: str) -> None:
        r = recipient_for(row.message.recipient, self._techs)
        self.say.undeliverable(row, why, r, self.oncall_recipient())

    def oncall_recipient(self, at: datetime | None = None) -> Recipient:
        return technician_recipient(self._oncall_now(at or self.clock()))

    def technician(self, name: str) -> Technician | None:
        return self._techs.get(name)

    # -- escalation, reminders, acknowledgement --------------------------------------------

    async def tick(self) -> None:
        """Escalations and reminders, on the leader only: a follower's incidents are stale."""
        if self.is_leader is not None and not self.is_leader():
            self._synced = False  # the next turn as leader starts from the cluster's incidents
            return
        now = self.clock()
        async with self._lock:
            await self._take_cluster_incidents()
            for inc in self.store.incidents(state="open", limit=1000):
                first = self.store.first_assignee(inc.id)
                action = due_action(inc, now, self.settings, self._order, first)
                if action is None:
                    continue
                if isinstance(action, Escalate):
                    self._escalate(inc, action, now)
                else:
                    self._remind(inc, action.number, now)

    async def _take_cluster_incidents(self) -> None:
        """Once per turn as leader: the cluster's open incidents become this node's
        (``continuity.py``). Called with the lock held."""
        if self._synced or self.shared is None:
            return
        if self.is_leader is not None and not self.is_leader():
            return
        from controller.notifier.continuity import sync_with_cluster

        self._synced = await sync_with_cluster(self, self.clock())

    def _escalate(self, inc: Incident, action: Escalate, now: datetime) -> None:
        followup.escalate(self.store, self.say, self._techs[action.to], inc, action.level, now)

    def _remind(self, inc: Incident, number: int, now: datetime) -> None:
        followup.remind(self.store, self.say, self._techs.get(inc.assignee), inc, number, now)

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
        """``ACK``/``STATUS`` from a technician's mobile (``inbound.py``); others are ignored.

        The daemon hands over every SMS that reaches the modem (``ModemDevice.incoming()``)."""
        from controller.notifier.inbound import handle_sms

        return await handle_sms(self, sender, text)
