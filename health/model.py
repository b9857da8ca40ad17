"""The frozen health snapshot that the decision engine reads, and pure composite rules.

A component is ``up``, ``down`` or ``unknown`` (no verdict yet, or its probes cannot run). Each
state carries the UTC time it entered that status, so the decision engine can hold a failback until
a route has been healthy long enough. Composites are computed here, without I/O:

- a line's *path* is up when every component it depends on is up, down when any is down, and
  unknown otherwise (unknown is not down);
- the PBX *cluster* is up when at least ``quorum`` of its nodes are up, down when too few nodes are
  up or unknown to reach quorum, and unknown otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType


class Status(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ComponentState:
    """One component's verdict. ``since`` is when it entered ``status`` (UTC), None if never."""

    name: str
    status: Status = Status.UNKNOWN
    since: datetime | None = None
    reason: str = ""
    latency_ms: float | None = None
    reasons: tuple[str, ...] = ()
    """The last few samples' reasons, newest last (``ok``, ``timeout``, ``503 Service ...``)."""
    latency_p50_ms: float | None = None
    latency_max_ms: float | None = None
    samples: int = 0
    """How many samples this component has taken in all (0: never probed)."""
    last_at: datetime | None = None
    """When the last sample that gave a verdict finished (UTC); None: none yet."""


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """An immutable view of every component at one instant."""

    taken_at: datetime
    components: Mapping[str, ComponentState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))

    def get(self, name: str) -> ComponentState:
        found = self.components.get(name)
        return found if found is not None else ComponentState(name=name)

    @classmethod
    def of(cls, taken_at: datetime, states: Iterable[ComponentState]) -> HealthSnapshot:
        return cls(taken_at=taken_at, components={s.name: s for s in states})


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The verdict of a composite (a path or a cluster) with a one-line explanation."""

    status: Status
    since: datetime | None
    detail: str


def _describe(state: ComponentState) -> str:
    return f"{state.name} {state.status}" + (f" ({state.reason})" if state.reason else "")


def all_of(snapshot: HealthSnapshot, names: Iterable[str]) -> Aggregate:
    """Up when every named component is up; down when any is down; else unknown."""
    states = [snapshot.get(n) for n in names]
    down = [s for s in states if s.status is Status.DOWN]
    if down:
        since = max((s.since for s in down if s.since), default=None)
        return Aggregate(Status.DOWN, since, ", ".join(_describe(s) for s in down))
    unknown = [s for s in states if s.status is Status.UNKNOWN]
    if unknown:
        return Aggregate(Status.UNKNOWN, None, ", ".join(_describe(s) for s in unknown))
    # Up since the last of them came up: the path as a whole was not up before that.
    since = max((s.since for s in states if s.since), default=None)
    return Aggregate(Status.UP, since, "all up")


def at_least(snapshot: HealthSnapshot, names: Iterable[str], quorum: int) -> Aggregate:
    """Up when at least ``quorum`` of the named components are up."""
    states = [snapshot.get(n) for n in names]
    up = sorted((s for s in states if s.status is Status.UP), key=_since_key)
    unknown = [s for s in states if s.status is Status.UNKNOWN]
    count = f"{len(up)}/{len(states)} up, quorum {quorum}"
    if len(up) >= quorum:
        # With nodes up since t1 <= t2 <= ..., quorum k has held since t_k.
        return Aggregate(Status.UP, up[quorum - 1].since, count)
    if len(up) + len(unknown) < quorum:
        down = [s for s in states if s.status is Status.DOWN]
        since = max((s.since for s in down if s.since), default=None)
        return Aggregate(Status.DOWN, since, f"{count}: " + ", ".join(_describe(s) for s in down))
    return Aggregate(Status.UNKNOWN, None, f"{count}, {len(unknown)} unknown")


_LONG_AGO = datetime.min.replace(tzinfo=UTC)


def _since_key(state: ComponentState) -> datetime:
    return state.since if state.since is not None else _LONG_AGO
