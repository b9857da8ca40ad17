"""The controller's persisted state, as typed records over the coordinator's shared JSON store.

- ``route``: the route last *verified* in the world (number, since, recent switches, failed flag);
- ``change``: the in-progress marker, written before the first actuator runs and removed once every
  step is verified. A marker found at start means the last run died mid-switch: the loop applies
  every step again (they are idempotent) before trusting anything;
- ``override`` and ``pause``: the intent recorded by the API (STYLE lesson 10).

All times are UTC. Serialisation is explicit so a stored document never depends on pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from controller.clock import utcnow
from controller.config import Route
from controller.coordination.base import Coordinator, JsonDoc
from controller.decide.decision import Override, Pause

MAX_SWITCHES = 64  # enough for any flap window; older switches are dropped


def _dt(value: object) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _route(value: object) -> Route | None:
    return None if value is None else Route(str(value))


@dataclass(frozen=True, slots=True)
class RouteRecord:
    route: Route | None = None
    number: str | None = None
    since: datetime | None = None
    verified: bool = False
    failed: bool = False
    failed_at: datetime | None = None
    failure: str = ""
    switches: tuple[datetime, ...] = ()

    def to_doc(self) -> JsonDoc:
        return {
            "route": None if self.route is None else str(self.route),
            "number": self.number,
            "since": _iso(self.since),
            "verified": self.verified,
            "failed": self.failed,
            "failed_at": _iso(self.failed_at),
            "failure": self.failure,
            "switches": [_iso(t) for t in self.switches],
        }

    @classmethod
    def from_doc(cls, doc: JsonDoc | None) -> RouteRecord:
        if not doc:
            return cls()
        return cls(
            route=_route(doc.get("route")),
            number=doc.get("number"),
            since=_dt(doc.get("since")),
            verified=bool(doc.get("verified")),
            failed=bool(doc.get("failed")),
            failed_at=_dt(doc.get("failed_at")),
            failure=str(doc.get("failure", "")),
            switches=tuple(t for t in (_dt(x) for x in doc.get("switches", ())) if t),
        )

    def switched(
        self, route: Route, number: str, at: datetime, *, counted: bool = True
    ) -> RouteRecord:
        """The record after a verified change to ``route``; ``counted=False`` (a person's
        override) keeps it out of the flap guard's window."""
        moved = route is not self.route and self.route is not None and counted
        switches = (*self.switches, at)[-MAX_SWITCHES:] if moved else self.switches
        since = at if route is not self.route else (self.since or at)
        return RouteRecord(route, number, since, True, False, None, "", switches)

    def failing(self, why: str, at: datetime) -> RouteRecord:
        return replace(self, failed=True, failed_at=at, failure=why)


@dataclass(frozen=True, slots=True)
class ChangeMarker:
    target: Route
    number: str
    started_at: datetime
    epoch: int
    reason: str = ""

    def to_doc(self) -> JsonDoc:
        return {
            "target": str(self.target),
            "number": self.number,
            "started_at": _iso(self.started_at),
            "epoch": self.epoch,
            "reason": self.reason,
        }

    @classmethod
    def from_doc(cls, doc: JsonDoc | None) -> ChangeMarker | None:
        if not doc:
            return None
        return cls(
            Route(doc["target"]),
            str(doc["number"]),
            _dt(doc["started_at"]) or utcnow(),
            int(doc.get("epoch", 0)),
            str(doc.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class PauseRecord:
    pause: Pause
    since: datetime


class ControllerState:
    """Typed access to the shared documents; every write is durable before it returns."""

    def __init__(self, store: Coordinator) -> None:
        self._store = store

    async def route(self) -> RouteRecord:
        return RouteRecord.from_doc(await self._store.get("route"))

    async def set_route(self, record: RouteRecord) -> None:
        await self._store.put("route", record.to_doc())

    async def change(self) -> ChangeMarker | None:
        return ChangeMarker.from_doc(await self._store.get("change"))

    async def set_change(self, marker: ChangeMarker | None) -> None:
        await self._store.put("change", None if marker is None else marker.to_doc())

    async def override(self) -> Override | None:
        doc = await self._store.get("override")
        if not doc:
            return None
        return Override(
            target=Route(doc["target"]),
            reason=str(doc.get("reason", "")),
            who=str(doc.get("who", "")),
            expires_at=_dt(doc["expires_at"]) or utcnow(),
            force=bool(doc.get("force", False)),
        )

    async def set_override(self, ov: Override | None) -> None:
        doc = None
        if ov is not None:
            doc = {
                "target": str(ov.target),
                "reason": ov.reason,
                "who": ov.who,
                "expires_at": _iso(ov.expires_at),
                "force": ov.force,
            }
        await self._store.put("override", doc)

    async def pause(self) -> PauseRecord | None:
        doc = await self._store.get("pause")
        if not doc:
            return None
        since = _dt(doc.get("since")) or utcnow()
        until = _dt(doc.get("expires_at"))
        return PauseRecord(Pause(str(doc.get("reason", "")), str(doc.get("who", "")), until), since)

    async def set_pause(self, rec: PauseRecord | None) -> None:
        doc = None
        if rec is not None:
            doc = {
                "reason": rec.pause.reason,
                "who": rec.pause.who,
                "since": _iso(rec.since),
                "expires_at": _iso(rec.pause.until),  # the TTL (decide ignores it after)
            }
        await self._store.put("pause", doc)
