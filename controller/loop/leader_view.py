"""The reconcile loop's snapshot source on a node: this node's probes, shaped by the pure rules
of ``controller.decide.views`` (fresh probes of this term; with ``majority_view``, what most
nodes see).

``LeaderView`` notes each component's sample count at its first ``snapshot()`` of a term (the loop
asks every tick) and reports a component *unknown* until it has been probed again in this term.
``run`` publishes this node's own view every ``publish_every_s`` and, while leading with the
majority rule on, reads everyone's.

Wiring (daemon): ``view = LeaderView(monitor, coordinator, cfg)``; give ``view`` to the
``Reconciler`` as its snapshot source and run ``view.run(stop)`` as a task on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from controller.config import ComponentKind, HotlineConfig
from controller.coordination.base import CoordinationError, JsonDoc
from controller.decide.views import apply_majority, fresh_in_term, view_of
from health.model import HealthSnapshot

log = logging.getLogger("hotline.coordination.views")


class _Source(Protocol):
    def snapshot(self) -> HealthSnapshot: ...


class _Coord(Protocol):
    """The part of ``Coordinator`` the view needs."""

    def is_leader(self) -> bool: ...

    def term_started(self) -> float | None: ...

    async def publish_view(self, doc: JsonDoc) -> None: ...

    async def views(self) -> dict[str, JsonDoc]: ...


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
        self.sole_witness = frozenset(
            n for n, c in cfg.components.items() if c.kind is ComponentKind.MODEM
        )
        self.views: dict[str, JsonDoc] = {}
        self._term: float | None = None
        self._baseline: dict[str, int] = {}

    def snapshot(self) -> HealthSnapshot:
        snap = self.source.snapshot()
        term = self.coord.term_started()
        if term is None:
            self._term = None
            return snap
        if term != self._term:  # a new term: what we saw before it no longer counts
            self._term = term
            self._baseline = {n: s.samples for n, s in snap.components.items()}
        snap = fresh_in_term(snap, self._baseline)
        if self.majority:
            snap = apply_majority(
                snap, self.views, self.cluster_size, self.max_age_s, self.sole_witness
            )
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
