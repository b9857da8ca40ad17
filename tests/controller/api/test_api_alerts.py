"""The alerts router mounted in the API app: ``create_app(service, cfg, notifier=, calls=)``.

Real ``Notifier`` and ``CallLog`` (SQLite in the test's tmp dir), the app's own tokens and roles,
in-process through ``httpx.ASGITransport``. What is checked here is the integration: the roles the
app grants reach the router's routes (``pbx`` posts calls and nothing else; operators act; viewers
read), the token is checked before the body, the dashboard loads the panels, and an app without
a notifier has none of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.api import create_app
from controller.calls.service import CallLog, build_call_log
from controller.config import Role
from controller.notifier import build_notifier
from controller.notifier.service import Notifier
from controller.notifier.signal import Severity, Signal
from tests.support.clocks import ticking_from

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday: the instant these tests start at


@dataclass
class Alerts:
    client: httpx.AsyncClient
    notifier: Notifier
    calls: CallLog


def _call(call_id: str = "pbx-1-0001", **extra: Any) -> dict[str, Any]:
    start = T0 - timedelta(seconds=60)
    return {
        "call_id": call_id,
        "caller": "+420601000999",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=40)).isoformat(),
        "line": "primary",
        **extra,
    }


async def _open_incident(notifier: Notifier) -> int:
    await notifier.signal(
        Signal(
            key="route",
            active=True,
            severity=Severity.CRITICAL,
            summary="primary down",
            detail="trunk-a does not answer",
            at=T0,
            route="secondary",
        )
    )
    (incident,) = notifier.store.incidents("open", 10)
    return incident.id


@pytest.fixture
async def alerts(kit, tmp_path: Path) -> AsyncIterator[Alerts]:
    cfg = kit.make_config()
    clock = ticking_from(T0)
    notifier = build_notifier(cfg, modem=None, state_dir=tmp_path, clock=clock)
    calls = build_call_log(
        cfg.notifier.calls, cfg.schedule.timezone, tmp_path, notifier, clock=clock
    )
    app = create_app(kit.fake(), cfg, notifier=notifier, calls=calls)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Alerts(client, notifier, calls)


async def test_pbx_posts_a_call_and_may_do_nothing_else(alerts: Alerts, kit) -> None:
    pbx = kit.auth(Role.PBX)
    r = await alerts.client.post("/v1/calls", json=_call(), headers=pbx)
    assert r.status_code == 201, r.text
    assert r.json()["missed"] is True
    assert [c.call_id for c in alerts.calls.callbacks(open_only=True)] == ["pbx-1-0001"]
    replay = await alerts.client.post("/v1/calls", json=_call(), headers=pbx)
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    for method, path in [
        ("GET", "/v1/incidents"),
        ("GET", "/v1/callbacks"),
        ("GET", "/v1/calls/stats"),
        ("POST", "/v1/incidents/1/ack"),
        ("POST", "/v1/callbacks/1/close"),
        ("GET", "/v1/status"),
        ("GET", "/v1/events"),
        ("POST", "/v1/pause"),
    ]:
        body = {} if method == "POST" else None
        r = await alerts.client.request(method, path, json=body, headers=pbx)
        assert r.status_code == 403, (method, path, r.text)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.ADMIN])
async def test_only_the_pbx_role_posts_calls(alerts: Alerts, kit, role: Role) -> None:
    r = await alerts.client.post("/v1/calls", json=_call(), headers=kit.auth(role))
    assert r.status_code == 403, r.text
    assert "may not calls" in r.json()["detail"]
    assert alerts.calls.callbacks(open_only=False) == []


async def test_token_is_checked_before_the_body(alerts: Alerts, kit) -> None:
    json_type = {"Content-Type": "application/json"}
    r = await alerts.client.post("/v1/calls", content=b"{not json", headers=json_type)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    viewer = {**json_type, **kit.auth(Role.VIEWER)}
    r = await alerts.client.post("/v1/calls", content=b"{not json", headers=viewer)
    assert r.status_code == 403
    wrong = {**json_type, "Authorization": "Bearer wrong-token-000000"}
    r = await alerts.client.post("/v1/callbacks/1/close", content=b"[", headers=wrong)
    assert r.status_code == 401


async def test_operator_acknowledges_as_the_tokens_name_viewer_may_not(alerts: Alerts, kit) -> None:
    incident = await _open_incident(alerts.notifier)
    r = await alerts.client.post(f"/v1/incidents/{incident}/ack", headers=kit.auth(Role.VIEWER))
    assert r.status_code == 403
    assert alerts.notifier.store.incident(incident).acked_by is None  # type: ignore[union-attr]
    listed = await alerts.client.get("/v1/incidents?state=open", headers=kit.auth(Role.VIEWER))
    assert [i["id"] for i in listed.json()] == [incident]
    r = await alerts.client.post(f"/v1/incidents/{incident}/ack", headers=kit.auth(Role.OPERATOR))
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == kit.names[Role.OPERATOR]
    detail = await alerts.client.get(f"/v1/incidents/{incident}", headers=kit.auth(Role.ADMIN))
    assert any(
        f"acknowledged by {kit.names[Role.OPERATOR]} via api" == t["what"]
        for t in detail.json()["timeline"]
    )
    missing = await alerts.client.post("/v1/incidents/999/ack", headers=kit.auth(Role.OPERATOR))
    assert missing.status_code == 404


@pytest.mark.parametrize("path", ["/v1/incidents/9223372036854775808", "/v1/incidents/0"])
async def test_an_id_sqlite_cannot_hold_is_a_422_not_a_500(alerts: Alerts, kit, path: str) -> None:
    r = await alerts.client.get(path, headers=kit.auth(Role.VIEWER))
    assert r.status_code == 422, r.text


async def test_dashboard_loads_the_panels_script(alerts: Alerts) -> None:
    page = await alerts.client.get("/dashboard")
    html = page.text
    assert html.index('src="/dashboard/dashboard.js"') < html.index('src="/dashboard/alerts.js"')
    script = await alerts.client.get("/dashboard/alerts.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "hotlineDashboard" in script.text


async def test_without_a_notifier_there_are_no_alerts_routes(kit) -> None:
    app = create_app(kit.fake(), kit.make_config())
    assert not any(p.startswith(("/v1/incidents", "/v1/calls")) for p in app.openapi()["paths"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/v1/incidents", headers=kit.auth(Role.VIEWER))
        assert r.status_code == 404
        assert (await client.get("/dashboard/alerts.js")).status_code == 404


async def test_a_missing_call_log_answers_503(kit, tmp_path: Path) -> None:
    cfg = kit.make_config()
    notifier = build_notifier(cfg, modem=None, state_dir=tmp_path)
    app = create_app(kit.fake(), cfg, notifier=notifier)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.post("/v1/calls", json=_call(), headers=kit.auth(Role.PBX))
        assert r.status_code == 503
        assert "call log is not configured" in r.json()["detail"]
        r = await client.get("/v1/incidents", headers=kit.auth(Role.VIEWER))
        assert r.status_code == 200


@pytest.mark.parametrize("day", ["1.4591870447555696e-246", "0", "20261125", "2026-11-25T00:00"])
async def test_stats_day_must_be_an_iso_date(alerts: Alerts, kit, day: str) -> None:
    r = await alerts.client.get(
        "/v1/calls/stats", params={"day": day}, headers=kit.auth(Role.VIEWER)
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", "day"]


async def test_stats_for_a_given_day(alerts: Alerts, kit) -> None:
    r = await alerts.client.get(
        "/v1/calls/stats", params={"day": "2026-11-24"}, headers=kit.auth(Role.VIEWER)
    )
    assert r.status_code == 200, r.text
    assert r.json()["day"] == "2026-11-24"
    assert r.json()["total"]["calls"] == 0


@pytest.mark.parametrize("start", [0, 1764072000, True, "1764072000", "yesterday"])
async def test_call_times_must_be_iso_8601(alerts: Alerts, kit, start: Any) -> None:
    r = await alerts.client.post("/v1/calls", json=_call(start=start), headers=kit.auth(Role.PBX))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "start"]
    assert alerts.calls.callbacks(open_only=False) == []


async def test_close_callback_time_must_be_iso_8601(alerts: Alerts, kit) -> None:
    await alerts.client.post("/v1/calls", json=_call(), headers=kit.auth(Role.PBX))
    (cb,) = alerts.calls.callbacks(open_only=True)
    r = await alerts.client.post(
        f"/v1/callbacks/{cb.id}/close", json={"called_back_at": 0}, headers=kit.auth(Role.OPERATOR)
    )
    assert r.status_code == 422
    assert alerts.calls.callbacks(open_only=True) != []


@pytest.mark.parametrize(
    ("value", "code"), [("true", 200), ("false", 200), ("1", 422), ("yes", 422), ("off", 422)]
)
async def test_include_closed_is_true_or_false(alerts: Alerts, kit, value: str, code: int) -> None:
    r = await alerts.client.get(
        "/v1/callbacks", params={"include_closed": value}, headers=kit.auth(Role.VIEWER)
    )
    assert r.status_code == code, r.text
