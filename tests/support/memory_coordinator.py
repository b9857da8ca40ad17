"""An in-memory ``Coordinator`` whose role a test switches by hand: leadership, fence, quorum, term.

It stands for one node of a cluster without ZooKeeper. Two halves:

- the *role* is plain attributes a test sets: ``leader`` (``is_leader``, ``may_actuate``,
  ``leader_name``), ``fence_ok`` (``check_fence`` raises "superseded" unless it holds; every call
  counts in ``fence_checks``), ``lost_since`` (``quorum_lost_since``), ``term`` (``term_started``
  while leading), and ``leader_handler``: the *other* node's intent handler, which
  ``submit_intent`` calls as the real backends ask the leader;
- the *data* (shared state, epoch, views, start/stop) lives in memory, or in ``store``: another
  coordinator, so that a test can swap a running loop's coordinator for this one and keep
  reading and writing the same state (``tests/controller/helpers.SwitchableCoordinator``).
"""

from __future__ import annotations

import asyncio

from controller.coordination.base import CoordinationError, Coordinator, IntentHandler, JsonDoc


class MemoryCoordinator:
    def __init__(
        self,
        node: str = "me",
        *,
        other: str = "other-node",
        epoch: int = 1,
        store: Coordinator | None = None,
    ) -> None:
        self.node, self.other, self.store = node, other, store
        self.leader = True
        self.fence_ok = True
        self.fence_checks = 0
        self.lost_since: float | None = None
        self.term: float | None = None
        self.leader_handler: IntentHandler | None = None
        self.own_handler: IntentHandler | None = None
        self.handovers = 0
        self.epoch_value = epoch
        self.docs: dict[str, JsonDoc] = {}
        self.published: dict[str, JsonDoc] = {}
        self.member: JsonDoc | None = None

    # ---- the data: in memory, or the store's -------------------------------------------------

    async def start(self) -> None:
        if self.store is not None:
            await self.store.start()

    async def stop(self) -> None:
        if self.store is not None:
            await self.store.stop()

    def epoch(self) -> int:
        return self.store.epoch() if self.store is not None else self.epoch_value

    def cluster_epoch(self) -> int:
        return self.store.cluster_epoch() if self.store is not None else self.epoch_value

    async def get(self, key: str) -> JsonDoc | None:
        if self.store is not None:
            return await self.store.get(key)
        return self.docs.get(key)

    async def put(self, key: str, value: JsonDoc | None) -> None:
        if self.store is not None:
            await self.store.put(key, value)
        elif value is None:
            self.docs.pop(key, None)
        else:
            self.docs[key] = value

    async def publish_member(self, doc: JsonDoc) -> None:
        self.member = doc

    async def members(self) -> dict[str, JsonDoc]:
        return {} if self.member is None else {self.node: self.member}

    async def publish_view(self, doc: JsonDoc) -> None:
        if self.store is not None:
            await self.store.publish_view(doc)
        else:
            self.published[self.node] = doc

    async def views(self) -> dict[str, JsonDoc]:
        if self.store is not None:
            return await self.store.views()
        return dict(self.published)

    # ---- the role: switched by the test ------------------------------------------------------

    def is_leader(self) -> bool:
        return self.leader

    def may_actuate(self) -> bool:
        return self.leader

    def leader_name(self) -> str | None:
        return self.node if self.leader else self.other

    def term_started(self) -> float | None:
        return self.term if self.leader else None

    def quorum_lost_since(self) -> float | None:
        return self.lost_since

    async def check_fence(self) -> None:
        self.fence_checks += 1
        if not self.fence_ok:
            raise CoordinationError("epoch 1 superseded by epoch 2")

    async def handover(self) -> None:
        """The other node leads from now on (no-op when not leading)."""
        if self.leader:
            self.handovers += 1
            self.leader = False

    def set_intent_handler(self, handler: IntentHandler | None) -> None:
        self.own_handler = handler

    async def submit_intent(self, doc: JsonDoc, timeout_s: float = 30.0) -> JsonDoc:
        """The other node's ``leader_handler`` answers; without one, our own while we lead."""
        handler = self.leader_handler
        if handler is None and self.leader:
            handler = self.own_handler
        if handler is None:
            raise CoordinationError("no leader took the intent")
        return await asyncio.wait_for(handler(doc), timeout=timeout_s)


_IS_A_COORDINATOR: type[Coordinator] = MemoryCoordinator  # mypy checks the whole protocol
