"""The incidents/calls router, mounted on a small app in-process (httpx.ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request

from controller.calls.service import CallLog
from controller.calls.store import CallStore
from controller.notifier.api import build_router, roles_to_permissions
from controller.notifier.service import Notifier
from controller.notifier.store import NotifierStore
from tests.notifier.helpers import T0, Clock, RecordingChannel, lab_config, signal

TOKENS = {
    "pbx-token": ("pbx-hook", "pbx"),
    "viewer-token": ("noc", "viewer"),
    "operator-token": ("ops-jana", "operator"),
}


def simple_require_role(*roles: str) -> Any:
    def dep(request: Request) -> dict[str, str]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in TOKENS:
            raise HTTPException(401, "missing or invalid token")
        name, role = TOKENS[token]
        if role not in roles:
            raise HTTPException(403, f"role {role} may not")
        return {"name": name, "role": role}

    return Depends(dep).dependency


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, Notifier, RecordingChannel]]:
    clock = Clock(T0 + timedelta(minutes=5))
    cfg = lab_config(escalation_timeout_s=600)
    sms = RecordingChannel("modem_sms")
    n = Notifier(
        cfg, cfg.notifier, NotifierStore(tmp_path / "n.sqlite3"), {"modem_sms": sms}, clock=clock
    )
    calls = CallLog(
        CallStore(tmp_path / "c.sqlite3"), cfg.notifier.calls, "Europe/Prague", n, clock=clock
    )
    app = FastAPI()
    app.include_router(build_router(n, calls, simple_require_role))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, n, sms


CALL = {
    "call_id": "pbx-1-0001",
    "caller": "+420601000999",
    "start": "2026-11-25T12:00:00Z",
    "answer": None,
    "end": "2026-11-25T12:00:40Z",
    "line": "primary",
    "agent": None,
}


async def test_pbx_posts_a_missed_call_and_an_operator_closes_the_callback(api: Any) -> None:
    client, n, sms = api
    r = await client.post("/v1/calls", json=CALL, headers=h("pbx-token"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "new" and body["missed"] and body["callback_id"] is not None
    replay = await client.post("/v1/calls", json=CALL, headers=h("pbx-token"))
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    await n.run_once()
    assert len(sms.sent) == 1 and sms.sent[0].kind == "missed_call"

    listed = (await client.get("/v1/callbacks", headers=h("viewer-token"))).json()
    assert [c["call_id"] for c in listed] == ["pbx-1-0001"]
    cb_id = listed[0]["id"]
    closed = await client.post(
        f"/v1/callbacks/{cb_id}/close",
        headers=h("operator-token"),
        json={"note": "called back", "called_back_at": "2026-11-25T12:20:00Z"},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_by"] == "ops-jana"
    assert closed.json()["called_back_at"].startswith("2026-11-25T12:20:00")
    assert (await client.get("/v1/callbacks", headers=h("viewer-token"))).json() == []
    everything = await client.get("/v1/callbacks?include_closed=true", headers=h("viewer-token"))
    assert len(everything.json()) == 1
    missing = await client.post("/v1/callbacks/999/close", headers=h("operator-token"), json={})
    assert missing.status_code == 404


async def test_roles(api: Any) -> None:
    client, *_ = api
    assert (await client.post("/v1/calls", json=CALL)).status_code == 401
    assert (
        await client.post("/v1/calls", json=CALL, headers=h("operator-token"))
    ).status_code == 403
    for path in ("/v1/callbacks", "/v1/incidents", "/v1/calls/stats"):
        assert (await client.get(path, headers=h("pbx-token"))).status_code == 403, path
        assert (await client.get(path, headers=h("viewer-token"))).status_code == 200, path
    r = await client.post("/v1/incidents/1/ack", headers=h("viewer-token"))
    assert r.status_code == 403
    r = await client.post("/v1/callbacks/1/close", headers=h("pbx-token"), json={})
    assert r.status_code == 403


async def test_bad_call_events_are_422(api: Any) -> None:
    client, *_ = api
    for bad in (
        {**CALL, "start": "2026-11-25T12:00:00"},  # no time zone
        {**CALL, "call_id": "a b"},
        {**CALL, "end": "2026-11-25T11:00:00Z"},
        {k: v for k, v in CALL.items() if k != "line"},
    ):
        r = await client.post("/v1/calls", json=bad, headers=h("pbx-token"))
        assert r.status_code == 422, bad


async def test_ack_by_api_and_incident_detail(api: Any) -> None:
    client, n, _ = api
    await n.signal(signal())
    await n.run_once()
    (inc,) = (await client.get("/v1/incidents?state=open", headers=h("viewer-token"))).json()
    assert inc["assignee"] == "alice" and inc["acknowledged_at"] is None
    r = await client.post(f"/v1/incidents/{inc['id']}/ack", headers=h("operator-token"))
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "ops-jana"
    detail = (await client.get(f"/v1/incidents/{inc['id']}", headers=h("viewer-token"))).json()
    assert [t["what"] for t in detail["timeline"]][-1] == "acknowledged by ops-jana via api"
    (d,) = detail["deliveries"]
    assert d["state"] == "sent" and d["channel"] == "modem_sms" and d["recipient"] == "alice"
    assert "sms_text" not in d and inc["id"] and "code" not in detail  # the ACK code stays out
    assert (
        await client.post("/v1/incidents/99/ack", headers=h("operator-token"))
    ).status_code == 404
    await n.signal(signal(active=False))
    r = await client.post(f"/v1/incidents/{inc['id']}/ack", headers=h("operator-token"))
    assert r.status_code == 409


async def test_daily_stats(api: Any) -> None:
    client, *_ = api
    answered = {
        **CALL,
        "call_id": "pbx-1-0002",
        "answer": "2026-11-25T12:00:20Z",
        "end": "2026-11-25T12:03:20Z",
        "line": "secondary",
    }
    for ev in (CALL, answered):
        await client.post("/v1/calls", json=ev, headers=h("pbx-token"))
    r = await client.get("/v1/calls/stats?day=2026-11-25", headers=h("viewer-token"))
    s = r.json()
    assert s["timezone"] == "Europe/Prague"
    assert s["total"] == {
        "calls": 2,
        "answered": 1,
        "missed": 1,
        "in_progress": 0,
        "answer_seizure_ratio": 0.5,
        "average_duration_s": 180.0,
        "longest_wait_s": 40.0,
    }
    assert set(s["lines"]) == {"primary", "secondary"}
    empty = await client.get("/v1/calls/stats?day=2026-11-24", headers=h("viewer-token"))
    assert empty.json()["total"]["calls"] == 0


async def test_mounts_on_the_api_apps_permission_guards(tmp_path: Path) -> None:
    auth = pytest.importorskip("controller.api.auth")
    from controller.api.metrics import ApiMetrics

    cfg = lab_config()
    raw_tokens = [
        {"name": "pbx-hook", "role": "pbx", "token": "pbx-token-0123456789"},
        {"name": "noc", "role": "viewer", "token": "viewer-token-0123456"},
    ]
    from controller.config import ApiToken

    registry = auth.TokenRegistry([ApiToken.model_validate(t) for t in raw_tokens])
    require = {p: auth.Requirement(registry, p, ApiMetrics()) for p in auth.Permission}
    calls = CallLog(
        CallStore(tmp_path / "c.sqlite3"), cfg.notifier.calls, "Europe/Prague", clock=Clock(T0)
    )
    app = FastAPI()
    app.include_router(
        build_router(None, calls, roles_to_permissions(require), route_class=auth.GuardedRoute)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        ok = await client.post("/v1/calls", json=CALL, headers=h("pbx-token-0123456789"))
        assert ok.status_code == 201 and ok.json()["missed"]
        denied = await client.post(
            "/v1/calls", json={"broken": 1}, headers=h("viewer-token-0123456")
        )
        assert denied.status_code == 403  # the guard answers before the body is validated
        listed = await client.get("/v1/callbacks", headers=h("viewer-token-0123456"))
        assert len(listed.json()) == 1
        no_notifier = await client.get("/v1/incidents", headers=h("viewer-token-0123456"))
        assert no_notifier.status_code == 503


async def test_dashboard_panel_script_is_served() -> None:
    from controller.notifier.api import dashboard_assets_router

    app = FastAPI()
    app.include_router(dashboard_assets_router())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        r = await client.get("/dashboard/alerts.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "hotlineDashboard" in r.text and "/v1/incidents/" in r.text
    assert "innerHTML" not in r.text  # values are written with textContent only
