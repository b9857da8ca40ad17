"""The coordination contract: leadership, a fencing epoch, and a little shared state.

Everything above this package talks only to ``Coordinator``; a backend translates its own errors
into ``CoordinationError`` (STYLE lesson 4). Shared state holds small JSON documents (the override,
the pause, the route record) so that, when clustered, the next leader reads what the last one wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class CoordinationError(Exception):
    """The coordination backend cannot answer (lost session, no quorum, unreadable store)."""


JsonDoc = dict[str, Any]
IntentHandler = Callable[[JsonDoc], Awaitable[JsonDoc]]


class Coordinator(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def is_leader(self) -> bool: ...

    def may_actuate(self) -> bool:
        """True only while this node is leader *and* its leadership is known to be current."""
        ...

    def epoch(self) -> int:
        """Increases with every new leadership term; stamped on events and actuations."""
        ...

    def leader_name(self) -> str | None: ...

    async def get(self, key: str) -> JsonDoc | None: ...

    async def put(self, key: str, value: JsonDoc | None) -> None:
        """Store ``value`` under ``key``; None deletes it."""
        ...

    # ---- HA additions (issue 7) --------------------------------------------------------------

    async def check_fence(self) -> None:
        """Raise CoordinationError unless this node's epoch is current *now*.

        The reconcile loop calls it right before every actuation step (each ``run_step``), so a
        deposed or long-paused leader never actuates with a stale epoch.
        """
        ...

    async def handover(self) -> None:
        """Give up leadership on purpose (API hand-over, SIGTERM); no-op when not leading."""
        ...

    def set_intent_handler(self, handler: IntentHandler | None) -> None:
        """The leader runs ``handler`` for each intent (a follower's failover/pause request)."""
        ...

    async def submit_intent(self, doc: JsonDoc, timeout_s: float = 30.0) -> JsonDoc:
        """Run ``doc`` on the leader's handler (directly when we lead) and return its answer."""
        ...

    async def publish_view(self, doc: JsonDoc) -> None:
        """Publish this node's own health view for the majority rule."""
        ...

    async def views(self) -> dict[str, JsonDoc]:
        """Every live node's published view, by node name."""
        ...
