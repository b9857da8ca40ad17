"""What a clustered leader may believe about health: fresh probes of its own term, and the
majority rule over the nodes' published views (the rule is pure; ``LeaderView`` wires both).

Every node runs the probes and publishes ``{"at": <UTC ISO>, "components": {name: status}}``. With
``zookeeper.majority_view`` on, the leader fails over only on what a majority of the cluster sees:
a component the leader sees *down* that fewer than a majority of nodes (counting the configured
``cluster_size``, not just the nodes alive) report down is treated as *unknown* for the decision —
and unknown is not down, so one node's own network trouble does not move the hotline. Views older
than ``max_age_s`` are ignored (a frozen node must not vote).

A new leader must not act on what it saw as a follower: ``LeaderView`` notes each component's
sample count at its first ``snapshot()`` of a term (the loop asks every tick) and reports a
component *unknown* until it has been probed again in this term (unknown holds the route in
force; one probe interval later the leader acts).

Wiring (daemon): ``view = LeaderView(monitor, coordinator, cfg)``; give ``view`` to the
``Reconciler`` as its snapshot source and run ``view.run(stop)`` as a task on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from controller.config import HotlineConfig
from controller.coordination.base import CoordinationError, JsonDoc
from health.model import HealthSnapshot, Status

log = logging.getLogger("hotline.coordination.views")


class _Source(Protocol):
    def snapshot(self) -> HealthSnapshot: ...


class _Coord(Protocol):
    def is_leader(self) -> bool: ...

    async def publish_view(self, doc: JsonDoc) -> None: ...

    async def views(self) -> dict[str, JsonDoc]: ...


def _fresh(view: Mapping[str, Any], now: datetime, max_age_s: float) -> bool:
    try:
        at = datetime.fromisoformat(str(view.get("at")))
    except ValueError:
        return False
    return at.tzinfo is not None and (now - at).total_seconds() <= max_age_s


def down_votes(
    views: Mapping[str, Mapping[str, Any]], now: datetime, max_age_s: float
) -> dict[str, list[str]]:
    """Component → the nodes whose fresh view reports it down."""
    votes: dict[str, list[str]] = {}
    for node, view in sorted(views.items()):
        comps = view.get("components")
        if not isinstance(comps, Mapping) or not _fresh(view, now, max_age_s):
            continue
        for name, status in comps.items():
            if status == Status.DOWN:
                votes.setdefault(str(name), []).append(node)
    return votes


def apply_majority(
    snapshot: HealthSnapshot,
    views: Mapping[str, Mapping[str, Any]],
    cluster_size: int,
    max_age_s: float,
) -> HealthSnapshot:
    """The leader's snapshot with every down component not confirmed by a majority made unknown."""
    majority = cluster_size // 2 + 1
    votes = down_votes(views, snapshot.taken_at, max_age_s)
    states = []
    for state in snapshot.components.values():
        seen = votes.get(state.name, [])
        if state.status is Status.DOWN and len(seen) < majority:
            who = ", ".join(seen) or "no node's published view"
            state = replace(
                state,
                status=Status.UNKNOWN,
                reason=f"down on {who} only ({len(seen)} of {cluster_size} nodes, "
                f"{majority} needed): {state.reason}",
            )
        states.append(state)
    return HealthSnapshot.of(snapshot.taken_at, states)


def view_of(snapshot: HealthSnapshot) -> dict[str, Any]:
    """The document a node publishes for its snapshot."""
    return {
        "at": snapshot.taken_at.isoformat(),
        "components": {n: str(s.status) for n, s in snapshot.components.items()},
    }


def fresh_in_term(snapshot: HealthSnapshot, baseline: Mapping[str, int]) -> HealthSnapshot:
    """Components not probed since the term began (``samples`` unchanged) become unknown."""
    states = []
    for state in snapshot.components.values():
        if state.samples <= baseline.get(state.name, -1) and state.status is not Status.UNKNOWN:
            state = replace(
                state,
                status=Status.UNKNOWN,
                reason=f"new leader: waiting for this term's first probe "
                f"(was {state.status}: {state.reason})",
            )
        states.append(state)
    return HealthSnapshot.of(snapshot.taken_at, states)


class LeaderView:
    """The reconcile loop's snapshot source on a clustered node (see the module docstring)."""

    def __init__(
        self, source: _Source, coord: _Coord, cfg: HotlineConfig, publish_every_s: float = 1.0
    ) -> None:
        zk = cfg.coordination.zookeeper
        self.source, self.coord = source, coord
        self.majority = bool(zk and zk.majority_view and cfg.coordination.backend == "zookeeper")
        self.cluster_size = zk.cluster_size if zk is not None else 1
        slowest = max((c.interval_s for c in cfg.components.values()), default=5.0)
        self.max_age_s = max(3 * publish_every_s, 3 * slowest)
        self.publish_every_s = publish_every_s
        self.views: dict[str, JsonDoc] = {}
        self._term: object = None
        self._baseline: dict[str, int] = {}

    def snapshot(self) -> HealthSnapshot:
        snap = self.source.snapshot()
        term = getattr(self.coord, "term_started", lambda: None)()
        if term is None:
            self._term = None
            return snap
        if term != self._term:  # a new term: what we saw before it no longer counts
            self._term = term
            self._baseline = {n: s.samples for n, s in snap.components.items()}
        snap = fresh_in_term(snap, self._baseline)
        if self.majority:
            snap = apply_majority(snap, self.views, self.cluster_size, self.max_age_s)
        return snap

    async def refresh(self) -> None:
        """Publish our own view; while leading, read everyone's."""
        await self.coord.publish_view(view_of(self.source.snapshot()))
        if self.majority and self.coord.is_leader():
            self.views = await self.coord.views()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except CoordinationError as exc:
                log.warning("views not refreshed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.publish_every_s)
