"""The coordination contract: leadership, a fencing epoch, and a little shared state.

Everything above this package talks only to ``Coordinator``; a backend translates its own errors
into ``CoordinationError`` (STYLE lesson 4). Shared state holds small JSON documents (the override,
the pause, the route record) so that, when clustered, the next leader reads what the last one wrote.

Two backends implement it: ``local.LocalCoordinator`` (one node, always its own leader) and
``zookeeper.ZooKeeperCoordinator`` (a cluster). Each method's docstring says what it means in
both; the local answers are chosen so that a caller needs no special case for a single node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable


class CoordinationError(Exception):
    """The coordination backend cannot answer (lost session, no quorum, unreadable store)."""


JsonDoc = dict[str, Any]
"""A small JSON document (shared state, intents, views): whatever ``json.loads`` gives back."""
IntentHandler = Callable[[JsonDoc], Awaitable[JsonDoc]]


@runtime_checkable
class Coordinator(Protocol):
    async def start(self) -> None:
        """Open the backend (local: the SQLite file, taking the next epoch; ZooKeeper: connect in
        the background and campaign). Raises ``CoordinationError`` when the store is unusable."""
        ...

    async def stop(self) -> None:
        """Leave: give up leadership and close the backend."""
        ...

    def is_leader(self) -> bool:
        """This node leads (local: True between ``start`` and ``stop``)."""
        ...

    def may_actuate(self) -> bool:
        """True only while this node is leader *and* its leadership is known to be current.

        Local: the same as ``is_leader``. ZooKeeper: leader, connected, and the lease running."""
        ...

    def epoch(self) -> int:
        """Increases with every new leadership term; stamped on events and actuations.

        Local: one more at every ``start``. ZooKeeper: this node's own last term."""
        ...

    def cluster_epoch(self) -> int:
        """The newest term known here, for ``/v1/status``.

        Local: ``epoch()``. ZooKeeper: at least ``epoch()``; a follower also knows the leader's."""
        ...

    def leader_name(self) -> str | None:
        """The leading node's name; None while unknown (local: this node, None when stopped)."""
        ...

    async def get(self, key: str) -> JsonDoc | None:
        """The document stored under ``key``; None when there is none."""
        ...

    async def put(self, key: str, value: JsonDoc | None) -> None:
        """Store ``value`` under ``key``; None deletes it (ZooKeeper: the leader only, fenced)."""
        ...

    # ---- HA additions (issue 7) --------------------------------------------------------------

    async def check_fence(self) -> None:
        """Raise CoordinationError unless this node's epoch is current *now*.

        The reconcile loop calls it right before every actuation step (each ``run_step``), so a
        deposed or long-paused leader never actuates with a stale epoch. Local: raises only when
        not started (a single node's epoch is always current).
        """
        ...

    async def handover(self) -> None:
        """Give up leadership on purpose (API hand-over, SIGTERM); no-op when not leading.

        Local: always a no-op (there is nobody to hand over to)."""
        ...

    def term_started(self) -> float | None:
        """Monotonic time this node's current term began; None when it does not lead.

        The leader view waits for health gathered after this instant before a new leader acts.
        Local: always None (there is no follower past to forget, the snapshot is used as is).
        """
        ...

    def quorum_lost_since(self) -> float | None:
        """Monotonic time since which the cluster has not answered; None while it does.

        The last-resort rule's clock. Local: always None (a single node needs no quorum, so the
        rule never fires there).
        """
        ...

    def set_intent_handler(self, handler: IntentHandler | None) -> None:
        """The leader runs ``handler`` for each intent (a follower's failover/pause request).

        Local: kept for ``submit_intent``."""
        ...

    async def submit_intent(self, doc: JsonDoc, timeout_s: float = 30.0) -> JsonDoc:
        """Run ``doc`` on the leader's handler (directly when we lead) and return its answer.

        Local: runs the registered handler here under ``timeout_s``; ``CoordinationError`` when
        none is registered."""
        ...

    async def publish_view(self, doc: JsonDoc) -> None:
        """Publish this node's own health view for the majority rule (local: kept in memory)."""
        ...

    async def views(self) -> dict[str, JsonDoc]:
        """Every live node's published view, by node name (local: at most this node's own)."""
        ...

    async def publish_member(self, doc: JsonDoc) -> None:
        """Publish this node's member record (role, may-actuate, API address, who holds the
        modem...) for ``hotline cluster`` and followers' reads (local: kept in memory)."""
        ...

    async def members(self) -> dict[str, JsonDoc]:
        """Every live node's member record, by node name (ZooKeeper: ephemeral, so a node whose
        session ended is gone; local: at most this node's own)."""
        ...
