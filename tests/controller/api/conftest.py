"""Fixtures for the API tests: a fake ControllerService, a config with one token per role, and an
in-process httpx client (``httpx.ASGITransport``).

The fake is a plain object satisfying ``controller.service.contract.ControllerService``: it records
every call (so tests can check ``who`` and the TTL the API passed) and answers with whatever
the test sets. The real service is another engineer's; the contract is the Protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.api import create_app
from controller.config import Api, ApiToken, HotlineConfig, Role, Route, load_config
from controller.service.contract import (
    ActionResult,
    ActiveRoute,
    ComponentView,
    EventRecord,
    OverrideView,
    StatusReport,
)

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

TOKENS = {
    Role.VIEWER: "viewer-secret-token-AAAA1111",
    Role.OPERATOR: "operator-secret-token-BBBB2222",
    Role.ADMIN: "admin-secret-token-CCCC3333",
    Role.PBX: "pbx-secret-token-DDDD4444",
}
NAMES = {role: f"{role.value}-bot" for role in TOKENS}


def sample_status() -> StatusReport:
    return StatusReport(
        node="lab-1",
        leader="lab-1",
        is_leader=True,
        mode="override",
        active=ActiveRoute(route=Route.SECONDARY, number="+420212000002", since=T0, verified=True),
        desired=Route.SECONDARY,
        reason="override by ops: trunk A maintenance",
        conditions=["trunk-a down"],
        components=[
            ComponentView(
                name="trunk-a",
                kind="trunk",
                status="down",
                since=T0,
                reason="timeout",
                latency_ms=None,
            ),
            ComponentView(
                name="trunk-b",
                kind="trunk",
                status="up",
                since=T0,
                reason="200 OK",
                latency_ms=12.5,
            ),
            ComponentView(name="pbx-1", kind="pbx_node", status="up", since=T0, latency_ms=3.25),
            ComponentView(name="modem", kind="modem", status="unknown", since=None),
        ],
        override=OverrideView(
            to=Route.SECONDARY,
            reason="trunk A maintenance",
            who="ops",
            expires_at=T0 + timedelta(minutes=30),
            force=False,
        ),
        flapping=False,
        oncall="alice",
        epoch=3,
    )


def sample_events() -> list[EventRecord]:
    return [
        EventRecord(id=1, at=T0, kind="decision", route_to=Route.PRIMARY, reason="all up"),
        EventRecord(
            id=2,
            at=T0 + timedelta(minutes=1),
            kind="manual",
            route_from=Route.PRIMARY,
            route_to=Route.SECONDARY,
            reason="trunk A maintenance",
            who="ops",
            outcome="ok",
        ),
        EventRecord(
            id=3,
            at=T0 + timedelta(minutes=1, seconds=2),
            kind="switch",
            route_from=Route.PRIMARY,
            route_to=Route.SECONDARY,
            outcome="ok",
            duration_ms=812.0,
        ),
    ]


@dataclass
class FakeService:
    """A ControllerService whose answers the test chooses and whose calls the test reads."""

    report: StatusReport = field(default_factory=sample_status)
    event_list: list[EventRecord] = field(default_factory=sample_events)
    leader: bool = True
    ready: bool = True
    result: ActionResult = field(
        default_factory=lambda: ActionResult(
            accepted=True, verified=True, route=Route.SECONDARY, message="switched", event_id=7
        )
    )
    fail_with: Exception | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def status(self) -> StatusReport:
        self._maybe_fail()
        return self.report

    def events(self, since: datetime | None, limit: int) -> list[EventRecord]:
        self._maybe_fail()
        self.calls.append(("events", {"since": since, "limit": limit}))
        chosen = [e for e in self.event_list if since is None or e.at > since]
        return chosen[-limit:]

    def is_leader(self) -> bool:
        return self.leader

    def is_ready(self) -> bool:
        return self.ready

    def collectors(self) -> list[Any]:
        return []  # the app's StatusCollector exports what status() reports

    async def failover(
        self, to: Route, reason: str, ttl_s: float | None, force: bool, who: str
    ) -> ActionResult:
        self._maybe_fail()
        self.calls.append(
            ("failover", {"to": to, "reason": reason, "ttl_s": ttl_s, "force": force, "who": who})
        )
        return self.result

    async def failback(self, reason: str, who: str) -> ActionResult:
        self._maybe_fail()
        self.calls.append(("failback", {"reason": reason, "who": who}))
        return self.result

    async def pause(self, reason: str, who: str, ttl_s: float | None = None) -> ActionResult:
        self._maybe_fail()
        self.calls.append(("pause", {"reason": reason, "who": who}))
        return self.result

    async def resume(self, reason: str, who: str) -> ActionResult:
        self._maybe_fail()
        self.calls.append(("resume", {"reason": reason, "who": who}))
        return self.result

    async def handover(self, who: str) -> ActionResult:
        self._maybe_fail()
        self.calls.append(("handover", {"who": who}))
        return self.result


def make_config(**api: Any) -> HotlineConfig:
    base = load_config(REPO / "examples" / "lab.yaml")
    tokens = tuple(
        ApiToken.model_validate({"name": NAMES[role], "token": secret, "role": role})
        for role, secret in TOKENS.items()
    )
    return base.model_copy(update={"api": Api(tokens=tokens, **api)})


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def config() -> HotlineConfig:
    return make_config()


@pytest.fixture
async def client(service: FakeService, config: HotlineConfig) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service, config)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass(frozen=True)
class ApiKit:
    """What tests import through a fixture (importlib mode: tests cannot import conftest)."""

    tokens: dict[Role, str]
    names: dict[Role, str]
    fake: type[FakeService]
    make_config: Any
    auth: Any
    status: Any
    events: Any


@pytest.fixture
def kit() -> ApiKit:
    return ApiKit(
        tokens=TOKENS,
        names=NAMES,
        fake=FakeService,
        make_config=make_config,
        auth=auth,
        status=sample_status,
        events=sample_events,
    )
