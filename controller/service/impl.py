"""The real ``ControllerService``: what the HTTP API reads and the intent it records.

Manual actions write intent (override, pause) into the persisted state, add an audit event, wake
the reconcile loop and wait (bounded by ``reconcile.action_wait_s``) for the loop to report the
verified outcome; the API never actuates anything itself (STYLE lesson 10). ``status()`` and
the metrics' ``collectors()`` are synchronous and read only the loop's cached view.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from controller.clock import Clock, utcnow
from controller.config import HotlineConfig, Route
from controller.coordination.base import CoordinationError, Coordinator, JsonDoc
from controller.decide.decision import Condition, Override, Pause
from controller.decide.schedule import on_call
from controller.loop.events import EventStore, NewEvent
from controller.loop.parts import Cached, SnapshotSource
from controller.loop.reconcile import Reconciler
from controller.loop.state import PauseRecord
from controller.service.contract import (
    ActionResult,
    ComponentView,
    EventRecord,
    Mode,
    OverrideView,
    PauseView,
    StatusReport,
)
from health.model import Status
from logsafe import esc

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from controller.daemon_cluster import ClusterAgent
    from controller.service.contract import ClusterReport

log = logging.getLogger("hotline.service")

_STATUS: dict[Status, Literal["up", "down", "unknown"]] = {
    Status.UP: "up",
    Status.DOWN: "down",
    Status.UNKNOWN: "unknown",
}


class ControllerServiceImpl:
    def __init__(
        self,
        cfg: HotlineConfig,
        loop: Reconciler,
        monitor: SnapshotSource,
        coordinator: Coordinator,
        events: EventStore,
        clock: Clock = utcnow,
    ) -> None:
        self.cfg, self.loop, self.monitor = cfg, loop, monitor
        self.coord, self.store, self.clock = coordinator, events, clock
        self._ready = False
        self.agent: ClusterAgent | None = None  # the daemon's (the cluster's truth), if any
        coordinator.set_intent_handler(self.handle_intent)

    def mark_ready(self, ready: bool = True) -> None:
        self._ready = ready

    # ---- reads -----------------------------------------------------------------------------

    def is_leader(self) -> bool:
        """May actuate now (``GET /leader``): a leader without quorum or lease says no."""
        return self.coord.may_actuate()

    def cluster(self) -> ClusterReport:
        from controller.service.cluster import cluster_report

        return cluster_report(self.agent, self.cfg.node.name, self.coord)

    def leader_api(self) -> tuple[str | None, str | None]:
        """(node, API URL) of the node that may actuate, when it is another node."""
        from controller.service.cluster import leader_api

        return leader_api(self.agent, self.cfg.node.name)

    def is_ready(self) -> bool:
        return self._ready and self.loop.ticks_done > 0

    def events(self, since: datetime | None, limit: int) -> list[EventRecord]:
        return self.store.list(since=since, limit=limit)

    def status(self) -> StatusReport:
        """The cluster's route and decision (the same on every node) and this node's own view
        (components, role, its own decision) beside it; see ``controller.service.cluster``."""
        from controller.service.cluster import active_route, cluster_status

        c, view, now = self.loop.cache, self.loop.view, self.clock()
        d = view.decision
        acting = self.coord.may_actuate()
        cluster = None if self.agent is None else cluster_status(self.agent, c)
        quorum = self.coord.quorum_lost_since() is None
        desired, reason = view.desired, d.reason if d else "starting: no decision yet"
        conditions = sorted(str(x) for x in d.conditions) if d else []
        if cluster is not None and not acting:  # a follower shows the leader's decision
            desired, conditions = cluster.desired, cluster.conditions
            reason = cluster.reason or f"follower: no decision from a leader ({cluster.note})"
        return StatusReport(
            node=self.cfg.node.name,
            leader=cluster.leader if cluster is not None else self.coord.leader_name(),
            is_leader=acting,
            may_actuate=acting,
            mode=_mode(c),
            active=cluster.route if cluster is not None else active_route(None, c, quorum),
            desired=desired,
            reason=reason,
            conditions=conditions,
            own_decision=d.reason if d else None,
            cluster=cluster,
            components=self._components(),
            override=_override_view(c.override),
            pause=None
            if c.pause is None
            else PauseView(reason=c.pause.pause.reason, who=c.pause.pause.who, since=c.pause.since),
            flapping=bool(d and Condition.FLAPPING in d.conditions),
            oncall=on_call(self.cfg.oncall, now).name,
            epoch=self.coord.cluster_epoch(),
        )

    def _components(self) -> list[ComponentView]:
        snap = self.monitor.snapshot()
        out = []
        for name, comp in self.cfg.components.items():
            st = snap.get(name)
            out.append(
                ComponentView(
                    name=name,
                    kind=str(comp.kind),
                    status=_STATUS[st.status],
                    since=st.since,
                    reason=st.reason,
                    latency_ms=st.latency_ms,
                )
            )
        return out

    def collectors(self) -> list[Collector]:
        from controller.metrics.controller import ControllerCollector

        return [ControllerCollector(self)]

    # ---- intent ----------------------------------------------------------------------------
    # A follower forwards each action to the leader through the coordinator's intents (issue 7);
    # the leader's handler runs the same ``_do_*`` code. A single node is always the leader.

    async def failover(
        self, to: Route, reason: str, ttl_s: float | None, force: bool, who: str
    ) -> ActionResult:
        doc = {
            "action": "failover",
            "to": str(to),
            "reason": reason,
            "ttl_s": ttl_s,
            "force": force,
            "who": who,
        }
        return await self._leader_runs(doc)

    async def failback(self, reason: str, who: str) -> ActionResult:
        return await self._leader_runs({"action": "failback", "reason": reason, "who": who})

    async def pause(self, reason: str, who: str, ttl_s: float | None = None) -> ActionResult:
        doc = {"action": "pause", "reason": reason, "who": who, "ttl_s": ttl_s}
        return await self._leader_runs(doc)

    async def resume(self, reason: str, who: str) -> ActionResult:
        return await self._leader_runs({"action": "resume", "reason": reason, "who": who})

    async def _leader_runs(self, doc: JsonDoc) -> ActionResult:
        if self.coord.is_leader():
            return await self._run_here(doc)
        try:
            answer = await self.coord.submit_intent(doc, self.cfg.reconcile.action_wait_s + 5)
            result = ActionResult.model_validate(answer)
        except (CoordinationError, TimeoutError, ValueError) as exc:
            return ActionResult(
                accepted=False,
                verified=False,
                route=None,
                message=f"the leader could not be asked: {exc}"[:300],
            )
        # Re-read the shared state now, so this node's own /v1/status already shows what the
        # leader did (otherwise it would until this node's next tick).
        try:
            await self.loop.refresh()
        except CoordinationError as exc:
            log.warning("re-reading the shared state after a forwarded action failed: %s", esc(exc))
        return result

    async def handle_intent(self, doc: JsonDoc) -> JsonDoc:
        """The leader's side of a forwarded action (registered with the coordinator)."""
        if not self.coord.is_leader():
            result = self._not_leader()
        else:
            result = await self._run_here(doc)
        return result.model_dump(mode="json")

    async def _run_here(self, doc: JsonDoc) -> ActionResult:
        action, reason, who = doc.get("action"), str(doc.get("reason", "")), str(doc.get("who"))
        if action == "failover":
            ttl = doc.get("ttl_s")
            return await self._do_failover(
                Route(doc["to"]),
                reason,
                None if ttl is None else float(ttl),
                bool(doc.get("force")),
                who,
            )
        if action == "failback":
            return await self._do_failback(reason, who)
        if action == "pause":
            ttl = doc.get("ttl_s")
            return await self._do_pause(reason, who, None if ttl is None else float(ttl))
        if action == "resume":
            return await self._do_resume(reason, who)
        return ActionResult(
            accepted=False, verified=False, route=None, message=f"unknown action {action!r}"
        )

    async def _do_failover(
        self, to: Route, reason: str, ttl_s: float | None, force: bool, who: str
    ) -> ActionResult:
        f = self.cfg.failover
        ttl = f.override_default_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= f.override_max_ttl_s:
            return ActionResult(
                accepted=False,
                verified=False,
                route=self.loop.cache.route.route,
                message=f"ttl_s must be in (0, {f.override_max_ttl_s:g}]",
            )
        now = self.clock()
        ov = Override(to, reason, who, now + timedelta(seconds=ttl), force)
        await self.loop.state.set_override(ov)
        ev = self._audit(
            "failover",
            f"failover to {to} for {ttl:g}s: {reason}",
            who,
            to,
            {"ttl_s": ttl, "force": force},
        )
        result = await self._await_route(to, ev.id)
        if result.accepted:
            return result
        await self.loop.state.set_override(None)  # a refused override must not linger
        await self.loop.refresh()
        return result

    async def _do_failback(self, reason: str, who: str) -> ActionResult:
        before = await self.loop.state.override()
        await self.loop.state.set_override(None)
        ev = self._audit("failback", f"failback (override cleared): {reason}", who, None, {})
        result = await self._await_route(None, ev.id)
        if before is not None and result.route is not None and result.route != before.target:
            # the technician was told of the manual move; tell them of the move back too
            detail = f"failback (override cleared): {reason}"
            await self.loop.alerts.tell_manual(result.route, who, reason, detail, self.clock())
        return result

    async def _do_pause(self, reason: str, who: str, ttl_s: float | None = None) -> ActionResult:
        f, now = self.cfg.failover, self.clock()
        ttl = min(ttl_s or f.pause_default_ttl_s, f.pause_max_ttl_s)
        until = now + timedelta(seconds=ttl)
        await self.loop.state.set_pause(PauseRecord(Pause(reason, who, until), now))
        ev = self._audit("pause", f"paused: {reason}", who, None, {})
        cached = await self.loop.refresh()
        rec = cached.route
        return ActionResult(
            accepted=True,
            verified=rec.verified,
            route=rec.route,
            message=f"paused; holding {rec.route}",
            event_id=ev.id,
        )

    async def _do_resume(self, reason: str, who: str) -> ActionResult:
        await self.loop.state.set_pause(None)
        ev = self._audit("resume", f"resumed: {reason}", who, None, {})
        return await self._await_route(None, ev.id)

    async def handover(self, who: str) -> ActionResult:
        """Give up leadership (before maintenance of this node); verified once another node
        leads. Not accepted when this node does not lead, or leads again because nobody else
        could take over (a single node, or the others are down)."""
        route = self.loop.cache.route.route
        if not self.coord.is_leader():
            return self._not_leader()
        ev = self._audit("handover", f"leadership handed over by {who}", who, None, {})
        await self.coord.handover()
        deadline = time.monotonic() + self.cfg.reconcile.action_wait_s
        while time.monotonic() < deadline:
            leader = self.coord.leader_name()
            if self.coord.is_leader():
                break
            if leader is not None and leader != self.cfg.node.name:
                return ActionResult(
                    accepted=True,
                    verified=True,
                    route=route,
                    message=f"{leader} leads now",
                    event_id=ev.id,
                )
            await asyncio.sleep(0.05)
        return ActionResult(
            accepted=False,
            verified=False,
            route=route,
            event_id=ev.id,
            message="no other node took over; this node still leads"
            if self.coord.is_leader()
            else "no node leads yet",
        )

    # ---- helpers ---------------------------------------------------------------------------

    def _not_leader(self) -> ActionResult:
        return ActionResult(
            accepted=False,
            verified=False,
            route=None,
            message=f"not the leader; the leader is {self.coord.leader_name()}",
        )

    def _audit(
        self, action: str, reason: str, who: str, to: Route | None, details: dict[str, object]
    ) -> EventRecord:
        return self.store.append(
            NewEvent(
                kind="manual",
                reason=reason,
                who=who,
                route_to=to,
                route_from=self.loop.cache.route.route,
                epoch=self.coord.epoch(),
                details={"action": action, **details},
            ),
            self.clock(),
        )

    async def _await_route(self, to: Route | None, event_id: int) -> ActionResult:
        """Wake the loop and wait until it verified ``to`` (None: whatever it decides)."""
        deadline = time.monotonic() + self.cfg.reconcile.action_wait_s
        while True:
            waiter = asyncio.ensure_future(self.loop.next_tick())
            self.loop.wake()
            remaining = deadline - time.monotonic()
            try:
                await asyncio.wait_for(waiter, max(remaining, 0.001))
            except TimeoutError:
                rec = self.loop.cache.route
                return ActionResult(
                    accepted=True,
                    verified=False,
                    route=rec.route,
                    message="accepted; not verified yet",
                    event_id=event_id,
                )
            done = self._outcome(to, event_id)
            if done is not None:
                return done

    def _outcome(self, to: Route | None, event_id: int) -> ActionResult | None:
        c, view = self.loop.cache, self.loop.view
        rec, d = c.route, view.decision
        if d is None:
            return None
        if to is not None and Condition.OVERRIDE_REFUSED in d.conditions:
            return ActionResult(
                accepted=False, verified=False, route=rec.route, message=d.reason, event_id=event_id
            )
        want = to if to is not None else view.desired
        if rec.failed and c.change is not None and c.change.target is want:
            return ActionResult(
                accepted=True,
                verified=False,
                route=rec.route,
                message=f"switch failed: {rec.failure}",
                event_id=event_id,
            )
        if want is not None and rec.route is want and c.change is None:
            return ActionResult(
                accepted=True,
                verified=rec.verified,
                route=rec.route,
                message=d.reason,
                event_id=event_id,
            )
        return None


def _mode(c: Cached) -> Mode:
    if c.pause is not None:
        return "paused"
    if c.override is not None:
        return "override"
    return "auto"


def _override_view(ov: Override | None) -> OverrideView | None:
    if ov is None:
        return None
    return OverrideView(
        to=ov.target, reason=ov.reason, who=ov.who, expires_at=ov.expires_at, force=ov.force
    )
