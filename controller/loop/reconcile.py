"""The reconcile loop: health snapshot → decision → actuation → read-back → persisted route.

Like a Kubernetes controller it compares the desired route with the one observed in the world and
acts only on a difference: a new decision, a change left half-done by a crash (the ``change``
marker), a failed change due for a retry, a new on-call technician, or drift found by the periodic
read-back (someone changed the modem's forwarding by hand). A route is recorded as active only
after every actuator has read it back; a failure leaves the old route recorded, ``failed`` set, the
marker in place, and raises an alert-worthy signal.

Deciding lives in ``controller.decide.decision`` (pure); this module only does. One tick never gets
cancelled half-way by a stop request: ``run`` finishes the tick in progress, then returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from controller.clock import Clock, utcnow
from controller.config import HotlineConfig, Route
from controller.coordination.base import CoordinationError, Coordinator
from controller.decide.decision import (
    Cause,
    Condition,
    Decision,
    Override,
    Policy,
    RouteState,
    decide,
)
from controller.decide.schedule import Calendar, on_call
from controller.loop.actuators.base import Actuator, RouteTarget, StepOutcome, check_step, run_step
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.parts import (
    Alerts,
    Cached,
    LoopView,
    Records,
    SnapshotSource,
    classify,
)
from controller.loop.recovery import Resume, adopted, interrupted, plan, take_lead
from controller.loop.state import ChangeMarker, ControllerState, RouteRecord
from controller.notifier.signal import NullSink, Severity, SignalSink
from logsafe import esc

log = logging.getLogger("hotline.reconcile")


class Reconciler:
    def __init__(
        self,
        cfg: HotlineConfig,
        monitor: SnapshotSource,
        coordinator: Coordinator,
        events: EventStore,
        actuators: list[Actuator],
        sink: SignalSink | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.cfg = cfg
        self.monitor = monitor
        self.coord = coordinator
        self.state = ControllerState(coordinator)
        self.events = events
        self.actuators = actuators
        self.clock = clock
        self.policy = Policy.from_config(cfg)
        self.calendar = Calendar.from_config(cfg.schedule)
        self.view = LoopView()
        self.cache = Cached()
        self.ticks_done = 0
        self._modem: ModemActuator | None = None
        for act in actuators:
            if isinstance(act, ModemActuator):
                self._modem = act
        self._next_check: datetime | None = None  # None: check on the next tick
        self._failed_target: tuple[Route, str] | None = None
        self._leading = False  # whether the last tick could actuate (a new term starts afresh)
        self._seen_at_start: tuple[str | None] | None = None  # the start-up read, not yet used
        self.alerts = Alerts(sink or NullSink(), coordinator.epoch)
        self.records = Records(cfg, events, self.alerts, coordinator.epoch, clock)
        self.counters = self.records.counters
        self._wake = asyncio.Event()
        self._tick_done = asyncio.Event()

    # ---- observing -------------------------------------------------------------------------

    async def start_up(self) -> None:
        """Read the modem's forwarding once, before the first decision.

        With a change marker left by a crash, what the read showed is kept for the first leading
        tick (``controller.loop.recovery``); without one, a forwarding that differs from the
        record is adopted as the route in force.
        """
        now = self.clock()
        rec = await self.state.route()
        marker = await self.state.change()
        if self._modem is None:
            return
        try:
            number = await self._modem.observe()
        except Exception as exc:  # any driver failure: keep the stored record
            log.warning("start-up read of the modem failed: %s", esc(exc))
            return
        seen = classify(self.cfg, number)
        self.view = LoopView(observed_number=number, observed=seen, at=now)
        if not self.coord.may_actuate():
            return  # a follower only looks: the leader owns the shared route record
        self._seen_at_start = (number,)
        if marker is not None:
            text = interrupted(marker, number, seen)
            self.records.event("recovery", text, route_from=rec.route, route_to=marker.target)
            return
        new = adopted(rec, seen, number, now)
        if new is not None:
            text = f"the modem forwards to {number} ({new.route}); adopting it"
            self.records.event("observed", text, route_from=rec.route, route_to=new.route)
            await self.state.set_route(new)

    def _took_lead(self, rec: RouteRecord, marker: ChangeMarker | None) -> Resume | None:
        """The first tick as the node that acts: check the route in force now, and hand the
        modem actuator what is known (``recovery.take_lead``)."""
        self._next_check = None
        self.alerts.new_term()
        seen, self._seen_at_start = self._seen_at_start, None
        return take_lead(self._modem, rec, marker, seen)

    async def refresh(self) -> Cached:
        """Re-read the persisted state into ``cache`` (after a write by the API, or a tick)."""
        self.cache = Cached(
            await self.state.route(),
            await self.state.change(),
            await self.state.override(),
            await self.state.pause(),
        )
        return self.cache

    # ---- the loop --------------------------------------------------------------------------

    def wake(self) -> None:
        """Run the next tick now (a manual action was recorded)."""
        self._wake.set()

    async def next_tick(self) -> None:
        """Return after the next tick completes."""
        await self._tick_done.wait()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
                await self.refresh()
            except CoordinationError as exc:
                log.error("coordination failed, not actuating this tick: %s", esc(exc))
            except Exception:
                log.exception("reconcile tick failed; the next tick starts over")
            self.ticks_done += 1
            done, self._tick_done = self._tick_done, asyncio.Event()
            done.set()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(
                waits, timeout=self.cfg.reconcile.interval_s, return_when=asyncio.FIRST_COMPLETED
            )
            for w in pending:
                w.cancel()
            self._wake.clear()

    async def tick(self) -> None:
        now = self.clock()
        self.counters.ticks += 1
        if not self.coord.may_actuate():
            self._leading, self._seen_at_start = False, None
            self.view = LoopView(at=now)
            return
        cached = await self.refresh()
        rec, marker, override, pause = cached.route, cached.change, cached.override, cached.pause
        resume = None
        if not self._leading:
            self._leading = True
            resume = self._took_lead(rec, marker)
        elif marker is not None:  # a change that failed and is retried: complete it
            resume = plan(rec, marker, None)
        current = resume.current if resume else RouteState(rec.route, rec.since, rec.switches)
        snapshot = self.monitor.snapshot()
        decision = decide(
            snapshot,
            current,
            override,
            None if pause is None else pause.pause,
            self.calendar,
            self.policy,
            now,
        )
        if override is not None and Condition.OVERRIDE_EXPIRED in decision.conditions:
            await self._expired(override)
        self.records.decision(decision, rec)
        desired = decision.route or rec.route
        if resume is not None and (decision.route is None or decision.cause is Cause.HOLD):
            desired = resume.fallback  # holding on missing data does not undo a change
        self.view = LoopView(
            decision, desired, self.view.observed_number, self.view.observed, None, now
        )
        if desired is not None:
            await self._act(rec, resume, desired, decision, now)
        # Alerts after the change: alert SMS share the modem with the +CCFC write.
        await self.records.condition_signals(decision, rec, snapshot, now)

    async def _act(
        self, rec: RouteRecord, resume: Resume | None, desired: Route, d: Decision, now: datetime
    ) -> None:
        number = self.cfg.route_number(desired, on_call(self.cfg.oncall, now).mobile)
        why = self._change_reason(rec, resume, desired, number, d, now)
        drift = None
        if why is None and not self._first_check_waits(d):
            drift = await self._drift(rec, desired, number, now)
            why = None if drift is None else f"drift: restoring {desired} ({drift})"
        if why is None:
            return
        if resume is not None and resume.reverses(desired):
            log.warning("not completing the interrupted change: %s", esc(why))
        await self._switch(rec, desired, number, why, now)
        if drift is not None:
            await self.alerts.send(
                "drift", True, Severity.WARNING, f"drift found, restoring {desired}", drift, now,
                desired,
            )  # fmt: skip

    def _change_reason(
        self,
        rec: RouteRecord,
        resume: Resume | None,
        desired: Route,
        number: str,
        decision: Decision,
        now: datetime,
    ) -> str | None:
        if self._failed_target == (desired, number) and rec.failed_at is not None:
            wait = timedelta(seconds=self.cfg.reconcile.retry_failed_s)
            if now - rec.failed_at < wait:
                return None
            return f"retrying the failed change to {desired}: {decision.reason}"
        if resume is not None:
            return resume.reason(desired, decision)
        if desired is not rec.route:
            return decision.reason
        if rec.number != number:
            return f"on-call mobile is now {number} (was {rec.number}); re-forwarding"
        return None

    def _first_check_waits(self, d: Decision) -> bool:
        """The first drift check of a term waits while the decision holds on unknown health: a
        new leader's first tick often comes before its term's probe round, and a query then
        (seconds on a real network) would only delay the write the next tick makes."""
        unknown = Condition.HEALTH_UNKNOWN in d.conditions and d.cause is Cause.HOLD
        return unknown and self._next_check is None

    async def _drift(
        self, rec: RouteRecord, desired: Route, number: str, now: datetime
    ) -> str | None:
        # Only a settled route is checked: a pending or failed change is not drift.
        if rec.failed or desired is not rec.route or self.cfg.reconcile.dry_run:
            return None
        if self._next_check is not None and now < self._next_check:
            return None
        self._next_check = now + timedelta(seconds=self.cfg.reconcile.drift_check_s)
        target = RouteTarget(desired, number, "drift check", self.coord.epoch())
        wrong: dict[str, str] = {}
        for act in self.actuators:
            if act.settings.dry_run or not act.can_read_back:
                continue
            check = await check_step(act, target)
            if check.error:  # unreadable is not drift; the next check tries again
                log.warning("drift check actuator=%s unreadable: %s", act.name, esc(check.observed))
                continue
            if self._modem is not None and act is self._modem:
                seen = self._modem.last_seen
                self.view = LoopView(
                    self.view.decision, desired, seen, classify(self.cfg, seen), None, now
                )
            if not check.ok:
                wrong[act.name] = check.observed
        if not wrong:
            return None
        self.counters.drifts += 1
        detail = "; ".join(f"{k}: {v}" for k, v in wrong.items())
        self.records.event(
            "drift",
            f"the world differs from {desired} ({number}): {detail}",
            route_from=rec.route,
            route_to=desired,
            details={"observed": wrong},
        )
        return detail

    # ---- acting ----------------------------------------------------------------------------

    async def _switch(
        self, rec: RouteRecord, route: Route, number: str, reason: str, now: datetime
    ) -> None:
        epoch = self.coord.epoch()
        target = RouteTarget(route, number, reason, epoch)
        await self.state.set_change(ChangeMarker(route, number, now, epoch, reason))
        self.view = LoopView(
            self.view.decision, route, self.view.observed_number, self.view.observed, route, now
        )
        started = time.monotonic()
        outcomes: list[StepOutcome] = []
        for act in self.actuators:
            # run_step checks the fence before every apply attempt (retries included).
            out = await run_step(
                act, target, dry_run=self.cfg.reconcile.dry_run, fence=self.coord.check_fence
            )
            if out.fenced:
                self.records.event(
                    "switch",
                    f"stopped at {act.name}: no longer allowed to actuate ({out.detail})",
                    route_from=rec.route,
                    route_to=route,
                    outcome="fenced",
                )
                return  # deposed: the marker stays for whoever leads next
            outcomes.append(out)
            self.records.count_step(out)
            self.records.event(
                "actuation",
                f"{act.name}: {out.detail}",
                route_from=rec.route,
                route_to=route,
                outcome=out.outcome,
                duration_ms=out.duration_ms,
                details={"actuator": act.name, "attempts": out.attempts},
            )
            if not out.ok:
                break
        took = time.monotonic() - started
        done = self.clock()
        steps = {o.actuator: o.outcome for o in outcomes}
        if all(o.ok for o in outcomes) and len(outcomes) == len(self.actuators):
            await self._switched(rec, target, reason, took, steps, done)
        else:
            await self._failed(rec, target, outcomes[-1], took, steps, done)

    async def _switched(
        self,
        rec: RouteRecord,
        target: RouteTarget,
        reason: str,
        took: float,
        steps: dict[str, str],
        now: datetime,
    ) -> None:
        dry = any(v == "dry-run" for v in steps.values())
        new = rec.switched(target.route, target.number, now, counted=not self.alerts.manual())
        if dry:
            new = RouteRecord(
                new.route, new.number, new.since, False, False, None, "", new.switches
            )
        await self.state.set_route(new)
        await self.state.set_change(None)
        self._failed_target = None
        self._next_check = now + timedelta(seconds=self.cfg.reconcile.drift_check_s)
        outcome = "dry-run" if dry else "ok"
        self.records.switch(rec.route, target, reason, outcome, took, steps)
        seen = None if dry else target.number
        self.view = LoopView(
            self.view.decision,
            target.route,
            seen or self.view.observed_number,
            classify(self.cfg, seen) if seen else self.view.observed,
            None,
            now,
        )
        log.info(
            "switch route_from=%s route_to=%s outcome=%s seconds=%.3f",
            rec.route,
            target.route,
            outcome,
            took,
        )
        await self.alerts.verified(target.route, target.number, reason, now)

    async def _failed(
        self,
        rec: RouteRecord,
        target: RouteTarget,
        last: StepOutcome,
        took: float,
        steps: dict[str, str],
        now: datetime,
    ) -> None:
        why = f"{last.actuator} failed after {last.attempts} attempt(s): {last.detail}"
        await self.state.set_route(rec.failing(why, now))
        self._failed_target = (target.route, target.number)
        self.records.switch(
            rec.route, target, f"not switched to {target.route}: {why}", "failed", took, steps
        )
        log.error(
            "switch route_from=%s route_to=%s outcome=failed: %s", rec.route, target.route, esc(why)
        )
        await self.alerts.send(
            "actuation_failed",
            True,
            Severity.CRITICAL,
            f"switch to {target.route} FAILED ({last.actuator})",
            f"{why}. Calls may still go to {rec.route}.",
            now,
            rec.route,
        )

    # ---- records and signals ---------------------------------------------------------------

    async def _expired(self, override: Override) -> None:
        """``decide`` found the override expired: clear it and say so (once)."""
        await self.state.set_override(None)
        self.records.event(
            "manual",
            f"override to {override.target} by {override.who} expired",
            who=override.who,
            route_to=override.target,
            outcome="expired",
        )
