"""The reconcile loop's small parts: its value types (counters, cached state, last view), the
de-duplication of alert signals (one signal per change of a condition, not one per tick) and its
records (events, counters, condition signals)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from controller.clock import Clock
from controller.config import ComponentKind, HotlineConfig, Route
from controller.decide.decision import Cause, Condition, Decision, Override
from controller.loop.actuators.base import RouteTarget, StepOutcome
from controller.loop.events import EventStore, NewEvent
from controller.loop.state import ChangeMarker, PauseRecord, RouteRecord
from controller.notifier.signal import Severity, Signal, SignalSink
from health.model import HealthSnapshot, Status

log = logging.getLogger("hotline.reconcile")

__all__ = [
    "FOREIGN",
    "NONE",
    "Alerts",
    "Cached",
    "LoopCounters",
    "LoopView",
    "Records",
    "SnapshotSource",
    "classify",
]


FOREIGN = "foreign"  # the modem forwards somewhere no route knows
NONE = "none"  # the modem forwards nowhere


class SnapshotSource(Protocol):
    def snapshot(self) -> HealthSnapshot: ...


def classify(cfg: HotlineConfig, number: str | None) -> str:
    """The route a forwarded number belongs to (any technician's mobile is on-call)."""
    if number is None:
        return NONE
    if number == cfg.lines.primary.forward_to:
        return str(Route.PRIMARY)
    if number == cfg.lines.secondary.forward_to:
        return str(Route.SECONDARY)
    if any(t.mobile == number for t in cfg.oncall.technicians):
        return str(Route.ONCALL)
    return FOREIGN


@dataclass(slots=True)
class LoopCounters:
    """Counters and gauges for /metrics, updated by the loop only."""

    ticks: int = 0
    decisions: dict[str, int] = field(default_factory=dict)  # by cause
    switches: dict[str, int] = field(default_factory=dict)  # by route reached
    switch_failures: int = 0
    drifts: int = 0
    steps: dict[tuple[str, str], int] = field(default_factory=dict)  # (actuator, outcome)
    step_seconds: dict[str, float] = field(default_factory=dict)  # actuator → total seconds
    last_switch_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Cached:
    """The persisted state as last read, so synchronous readers (``status()``) need no I/O."""

    route: RouteRecord = field(default_factory=RouteRecord)
    change: ChangeMarker | None = None
    override: Override | None = None
    pause: PauseRecord | None = None


@dataclass(frozen=True, slots=True)
class LoopView:
    """What the last tick saw and decided, for ``/v1/status``."""

    decision: Decision | None = None
    desired: Route | None = None
    observed_number: str | None = None
    observed: str | None = None  # a route name, FOREIGN, NONE, or None (not read)
    changing: Route | None = None
    at: datetime | None = None


class Alerts:
    """Sends a signal only when its condition changes; a failing sink never stops the loop.

    ``decision`` is the tick's decision (``Records.decision`` keeps it): a switch an operator
    asked for (an override) is told as a notice naming who and why, never as a page."""

    def __init__(self, sink: SignalSink, epoch: Callable[[], int]) -> None:
        self.sink = sink
        self._epoch = epoch
        self._active: dict[str, bool] = {}
        self.decision: Decision | None = None

    async def send(
        self,
        key: str,
        active: bool,
        sev: Severity,
        summary: str,
        detail: str,
        now: datetime,
        route: Route | None,
        *,
        by: str | None = None,
        why: str = "",
    ) -> None:
        if self._active.get(key) == active:
            return  # unchanged; a key not sent yet this term is sent either way
        self._active[key] = active
        down = self.decision.down if self.decision is not None else ()
        try:
            await self.sink.signal(
                Signal(
                    key,
                    active,
                    sev,
                    summary,
                    detail,
                    now,
                    None if route is None else str(route),
                    self._epoch(),
                    down,
                    by,
                    why,
                )
            )
        except Exception:
            log.exception("signal %s could not be delivered", key)

    def new_term(self) -> None:
        """This node starts acting: what it sent in an earlier term says nothing about now (another
        leader may have opened or resolved incidents since), so each condition is told afresh
        once; the notifier's incidents absorb a repeat."""
        self._active.clear()

    def manual(self) -> bool:
        """Whether this tick's decision is a person's override (not counted as flapping)."""
        return self.decision is not None and self.decision.cause is Cause.OVERRIDE

    async def verified(self, route: Route, number: str, reason: str, now: datetime) -> None:
        """A switch to ``route`` was verified: clear the failure and drift, tell the route."""
        await self.send(
            "actuation_failed",
            False,
            Severity.CRITICAL,
            f"route {route} verified",
            reason,
            now,
            route,
        )
        await self.send("drift", False, Severity.WARNING, f"{route} restored", reason, now, route)
        await self.route_changed(route, number, reason, now)

    async def tell_manual(
        self, route: Route, by: str, why: str, detail: str, now: datetime
    ) -> None:
        """A person moved the calls (an override, or a failback that ended one): a notice
        naming who and why; every move is its own notice."""
        self._active["manual"] = False
        summary = f"{by} moved calls to {route}: {why}"
        await self.send("manual", True, Severity.INFO, summary, detail, now, route, by=by, why=why)

    async def route_changed(self, route: Route, number: str, reason: str, now: datetime) -> None:
        d = self.decision
        if d is not None and d.cause is Cause.OVERRIDE and d.by:
            await self.tell_manual(route, d.by, d.why, reason, now)
            if route is not Route.PRIMARY:
                return  # not an outage: no page (an open outage stays open until primary)
        if route is Route.PRIMARY:
            await self.send(
                "route", False, Severity.INFO, "calls back on primary", reason, now, route
            )
            return
        sev = Severity.CRITICAL if route is Route.ONCALL else Severity.WARNING
        self._active["route"] = False  # a move between non-primary routes is news too
        await self.send(
            "route", True, sev, f"hotline now forwards to {route} {number}", reason, now, route
        )


class Records:
    """What the loop writes down: events (stamped with the epoch), counters, and the signals of
    the decision's conditions (flapping) and of the modem's health."""

    def __init__(
        self,
        cfg: HotlineConfig,
        events: EventStore,
        alerts: Alerts,
        epoch: Callable[[], int],
        clock: Clock,
    ) -> None:
        self.cfg = cfg
        self.alerts = alerts
        self.counters = LoopCounters()
        self._events = events
        self._epoch = epoch
        self._clock = clock
        self._last_decision_key: tuple[object, ...] | None = None

    def switch(
        self,
        was: Route | None,
        target: RouteTarget,
        reason: str,
        outcome: str,
        took: float,
        steps: dict[str, str],
    ) -> None:
        """A switch to ``target`` ended (``outcome`` ok, dry-run or failed) after ``took`` s."""
        self.event(
            "switch",
            reason,
            route_from=was,
            route_to=target.route,
            outcome=outcome,
            duration_ms=took * 1000,
            details={"number": target.number, "steps": steps},
        )
        if outcome == "failed":
            self.counters.switch_failures += 1
            return
        route = str(target.route)
        self.counters.switches[route] = self.counters.switches.get(route, 0) + 1
        self.counters.last_switch_seconds = took

    def count_step(self, out: StepOutcome) -> None:
        key = (out.actuator, out.outcome)
        self.counters.steps[key] = self.counters.steps.get(key, 0) + 1
        self.counters.step_seconds[out.actuator] = (
            self.counters.step_seconds.get(out.actuator, 0.0) + out.duration_ms / 1000
        )

    def decision(self, d: Decision, rec: RouteRecord) -> None:
        self.alerts.decision = d
        self.counters.decisions[str(d.cause)] = self.counters.decisions.get(str(d.cause), 0) + 1
        # Conditions of one tick only do not make a decision new (the expiry has its own event).
        passing = {Condition.FAILBACK_PENDING, Condition.OVERRIDE_EXPIRED}
        key = (d.route, d.cause, d.conditions - passing, rec.route)
        if key == self._last_decision_key:
            return
        self._last_decision_key = key
        self.event(
            "decision",
            d.reason,
            route_from=rec.route,
            route_to=d.route,
            details={"cause": str(d.cause), "conditions": sorted(d.conditions)},
        )

    def event(
        self,
        kind: str,
        reason: str,
        *,
        route_from: Route | None = None,
        route_to: Route | None = None,
        who: str | None = None,
        outcome: str | None = None,
        duration_ms: float | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        ev = NewEvent(
            kind,
            reason,
            route_from,
            route_to,
            who,
            self._epoch(),
            outcome,
            duration_ms,
            details or {},
        )
        self._events.append(ev, self._clock())

    async def condition_signals(
        self, d: Decision, rec: RouteRecord, snapshot: HealthSnapshot, now: datetime
    ) -> None:
        await self._pause_signals(d, rec, now)
        flapping = Condition.FLAPPING in d.conditions
        await self.alerts.send(
            "flapping",
            flapping,
            Severity.WARNING,
            "route is flapping" if flapping else "route stable again",
            d.reason,
            now,
            rec.route,
        )
        for name, comp in self.cfg.components.items():
            if comp.kind is not ComponentKind.MODEM:
                continue
            st = snapshot.get(name)
            if st.status is Status.UNKNOWN:
                continue  # no verdict yet: neither raise nor clear
            down = st.status is Status.DOWN
            await self.alerts.send(
                "modem",
                down,
                Severity.CRITICAL,
                "GSM modem unhealthy: the route cannot be changed" if down else "GSM modem OK",
                st.reason or str(st.status),
                now,
                rec.route,
            )

    async def _pause_signals(self, d: Decision, rec: RouteRecord, now: datetime) -> None:
        """A pause is a notice (who and why); a pause holding a dead route is a page at once,
        repeated by the notifier until it ends (``paused_dead_route``)."""
        paused = Condition.PAUSED in d.conditions
        by, why = (d.by, d.why) if paused else (None, "")
        summary = f"{by} paused automatic switching: {why}" if paused else "pause ended"
        await self.alerts.send(
            "paused", paused, Severity.INFO, summary, d.reason, now, rec.route, by=by, why=why
        )
        dead = Condition.PAUSED_ON_DOWN_ROUTE in d.conditions
        await self.alerts.send(
            "paused_dead_route",
            dead,
            Severity.CRITICAL,
            "paused on a dead route: callers reach nothing"
            if dead
            else "no longer paused on a dead route",
            d.reason,
            now,
            rec.route,
            by=by,
            why=why,
        )
