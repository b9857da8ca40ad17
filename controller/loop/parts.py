"""The reconcile loop's small parts: its value types (counters, cached state, last view) and the
de-duplication of alert signals (one signal per change of a condition, not one per tick)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from controller.clock import utcnow
from controller.config import Route
from controller.decide.decision import Decision, Override
from controller.loop.state import ChangeMarker, PauseRecord, RouteRecord
from controller.notifier.signal import Severity, Signal, SignalSink
from health.model import HealthSnapshot

log = logging.getLogger("hotline.reconcile")

__all__ = ["Alerts", "Cached", "LoopCounters", "LoopView", "SnapshotSource", "utcnow"]
# ``utcnow`` is ``controller.clock``'s, re-exported until the last caller imports it from there.


class SnapshotSource(Protocol):
    def snapshot(self) -> HealthSnapshot: ...


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
    """Sends a signal only when its condition changes; a failing sink never stops the loop."""

    def __init__(self, sink: SignalSink, epoch: Callable[[], int]) -> None:
        self.sink = sink
        self._epoch = epoch
        self._active: dict[str, bool] = {}

    async def send(
        self,
        key: str,
        active: bool,
        sev: Severity,
        summary: str,
        detail: str,
        now: datetime,
        route: Route | None,
    ) -> None:
        if self._active.get(key, False) == active:
            return
        self._active[key] = active
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
                )
            )
        except Exception:
            log.exception("signal %s could not be delivered", key)

    async def route_changed(self, route: Route, number: str, reason: str, now: datetime) -> None:
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
