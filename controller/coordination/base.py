"""The coordination contract: leadership, a fencing epoch, and a little shared state.

Everything above this package talks only to ``Coordinator``; a backend translates its own errors
into ``CoordinationError`` (STYLE lesson 4). Shared state holds small JSON documents (the override,
the pause, the route record) so that, when clustered, the next leader reads what the last one wrote.
"""

from __future__ import annotations

from typing import Any, Protocol


class CoordinationError(Exception):
    """The coordination backend cannot answer (lost session, no quorum, unreadable store)."""


JsonDoc = dict[str, Any]


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
