"""What each endpoint does with a valid token: shapes, validation (422 with the faulty field),
the ActionResult → HTTP status mapping, the audit's ``who``, metrics, and response headers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from controller.api import create_app
from controller.config import Role, Route
from controller.service.contract import ActionResult, EventRecord, StatusReport


async def test_status_is_the_service_report(client, kit):
    r = await client.get("/v1/status", headers=kit.auth(Role.VIEWER))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert StatusReport.model_validate(r.json()) == kit.status()
    body = r.json()
    assert body["active"]["route"] == "secondary"
    assert body["components"][0] == {
        "name": "trunk-a",
        "kind": "trunk",
        "status": "down",
        "since": "2026-11-25T09:00:00Z",
        "reason": "timeout",
        "latency_ms": None,
    }


async def test_topology_gives_the_numbers_of_the_call_path(client, kit):
    r = await client.get("/v1/topology", headers=kit.auth(Role.VIEWER))
    assert r.json() == {
        "node": "lab-1",
        "hotline": "+420601000100",
        "lines": {
            "primary": {"number": "+420212000001", "depends_on": ["trunk-a", "pbx"]},
            "secondary": {"number": "+420212000002", "depends_on": ["trunk-b", "pbx"]},
        },
        "technicians": ["alice", "bob"],
        "pbx_cluster": {"name": "pbx", "nodes": ["pbx-1", "pbx-2"], "quorum": 1},
    }


async def test_whoami_names_the_role_and_permissions_not_the_token(client, kit):
    r = await client.get("/v1/whoami", headers=kit.auth(Role.OPERATOR))
    assert r.json() == {
        "name": kit.names[Role.OPERATOR],
        "role": "operator",
        "permissions": ["operate", "read"],
    }
    r = await client.get("/v1/whoami", headers=kit.auth(Role.VIEWER))
    assert r.json()["permissions"] == ["read"]
    r = await client.get("/v1/whoami", headers=kit.auth(Role.PBX))
    assert r.status_code == 403, "a pbx token may only post calls"


async def test_events_pass_since_and_limit(client, kit, service):
    r = await client.get(
        "/v1/events",
        params={"since": "2026-11-25T09:00:30Z", "limit": 5},
        headers=kit.auth(Role.VIEWER),
    )
    assert r.status_code == 200
    assert [EventRecord.model_validate(e).id for e in r.json()] == [2, 3]
    assert service.calls[-1] == (
        "events",
        {"since": datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC), "limit": 5},
    )
    await client.get("/v1/events", headers=kit.auth(Role.VIEWER))
    assert service.calls[-1] == ("events", {"since": None, "limit": 100})


async def test_events_naive_since_is_utc(client, kit, service):
    await client.get(
        "/v1/events", params={"since": "2026-11-25T10:00:00"}, headers=kit.auth(Role.VIEWER)
    )
    assert service.calls[-1][1]["since"] == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1001}, ["query", "limit"]),
        ({"limit": "many"}, ["query", "limit"]),
        ({"since": "yesterday"}, ["query", "since"]),
    ],
)
async def test_events_bad_query_is_422_naming_the_field(client, kit, service, params, loc):
    r = await client.get("/v1/events", params=params, headers=kit.auth(Role.VIEWER))
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [loc]
    assert service.calls == []


async def test_failover_passes_intent_and_the_token_name(client, kit, service):
    r = await client.post(
        "/v1/failover",
        json={"to": "oncall", "reason": "  total outage drill  ", "ttl_s": 600, "force": True},
        headers=kit.auth(Role.OPERATOR),
    )
    assert r.status_code == 200
    assert ActionResult.model_validate(r.json()) == service.result
    assert service.calls == [
        (
            "failover",
            {
                "to": Route.ONCALL,
                "reason": "total outage drill",
                "ttl_s": 600.0,
                "force": True,
                "who": kit.names[Role.OPERATOR],
            },
        )
    ]


async def test_failover_without_ttl_uses_the_configured_default(client, kit, service, config):
    await client.post(
        "/v1/failover", json={"to": "secondary", "reason": "x"}, headers=kit.auth(Role.ADMIN)
    )
    _, args = service.calls[-1]
    assert args["ttl_s"] == config.failover.override_default_ttl_s
    assert args["force"] is False
    assert args["who"] == kit.names[Role.ADMIN]


@pytest.mark.parametrize("action", ["failback", "pause", "resume"])
async def test_reason_actions_are_audited_with_the_token_name(client, kit, service, action, caplog):
    caplog.set_level(logging.INFO, logger="hotline.api")
    r = await client.post(f"/v1/{action}", json={"reason": "ops"}, headers=kit.auth(Role.OPERATOR))
    assert r.status_code == 200
    assert service.calls == [(action, {"reason": "ops", "who": "operator-bot"})]
    assert f"api_action action={action} who=operator-bot status=200 outcome=verified" in caplog.text


@pytest.mark.parametrize(
    ("accepted", "verified", "code"),
    [(True, True, 200), (True, False, 202), (False, False, 409)],
)
async def test_action_status_mapping(client, kit, service, accepted, verified, code):
    service.result = ActionResult(
        accepted=accepted, verified=verified, route=Route.PRIMARY, message="m", event_id=None
    )
    for action, body in [
        ("failover", {"to": "primary", "reason": "r"}),
        ("failback", {"reason": "r"}),
        ("pause", {"reason": "r"}),
        ("resume", {"reason": "r"}),
    ]:
        r = await client.post(f"/v1/{action}", json=body, headers=kit.auth(Role.OPERATOR))
        assert r.status_code == code, action
        assert r.json()["accepted"] is accepted


MAX_TTL = 7 * 86400.0


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        ({"reason": "r"}, ["body", "to"], "required"),
        ({"to": "sideways", "reason": "r"}, ["body", "to"], "'primary', 'secondary' or 'oncall'"),
        ({"to": "primary"}, ["body", "reason"], "required"),
        ({"to": "primary", "reason": ""}, ["body", "reason"], "empty"),
        ({"to": "primary", "reason": "   "}, ["body", "reason"], "empty"),
        ({"to": "primary", "reason": "a\nb"}, ["body", "reason"], "U+000A"),
        ({"to": "primary", "reason": "evil\u202etxt"}, ["body", "reason"], "U+202E"),
        ({"to": "primary", "reason": "\x1b[31mred"}, ["body", "reason"], "U+001B"),
        ({"to": "primary", "reason": "x" * 501}, ["body", "reason"], "at most 500"),
        ({"to": "primary", "reason": 5}, ["body", "reason"], "string"),
        ({"to": "primary", "reason": "r", "ttl_s": 0}, ["body", "ttl_s"], "equal to 60"),
        ({"to": "primary", "reason": "r", "ttl_s": -5}, ["body", "ttl_s"], "equal to 60"),
        ({"to": "primary", "reason": "r", "ttl_s": MAX_TTL + 1}, ["body", "ttl_s"], "604800"),
        ({"to": "primary", "reason": "r", "force": "yes"}, ["body", "force"], "boolean"),
        ({"to": "primary", "reason": "r", "ttl_s": True}, ["body", "ttl_s"], "number"),
        ({"to": "primary", "reason": "r", "ttl_s": "60"}, ["body", "ttl_s"], "number"),
        ({"to": "primary", "reason": "r", "ttl": 60}, ["body", "ttl"], "Extra inputs"),
    ],
)
async def test_failover_bad_body_is_422_saying_what_is_wrong(
    client, kit, service, body, loc, fragment
):
    r = await client.post("/v1/failover", json=body, headers=kit.auth(Role.OPERATOR))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [loc]
    assert fragment in detail[0]["msg"]
    assert set(detail[0]) == {"loc", "msg", "type"}, "no echo of the input"
    assert service.calls == []


async def test_reason_body_rejects_unknown_keys_and_non_json(client, kit, service):
    h = kit.auth(Role.OPERATOR)
    r = await client.post("/v1/pause", json={"reason": "r", "who": "someone-else"}, headers=h)
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "who"])
    json_type = {**h, "Content-Type": "application/json"}
    r = await client.post("/v1/pause", content=b"{", headers=json_type)
    assert r.status_code == 422
    r = await client.post("/v1/pause", headers=h)
    assert r.status_code == 422
    r = await client.post("/v1/pause", json=["reason"], headers=h)
    assert r.status_code == 422
    assert service.calls == []


async def test_reason_accepts_unicode_text(client, kit, service):
    reason = "Výpadek trunku A — údržba 🛠 (ticket #42)"
    r = await client.post("/v1/pause", json={"reason": reason}, headers=kit.auth(Role.OPERATOR))
    assert r.status_code == 200
    assert service.calls[-1][1]["reason"] == reason


async def test_service_error_is_a_bare_500(client, kit, service):
    service.fail_with = KeyError("internal detail")
    r = await client.post("/v1/pause", json={"reason": "r"}, headers=kit.auth(Role.OPERATOR))
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}


async def test_metrics_need_a_reader_and_count_refusals(client, kit):
    assert (await client.get("/metrics")).status_code == 401
    await client.get("/v1/status", headers={"Authorization": "Bearer wrong-wrong-wrong"})
    await client.post("/v1/pause", json={"reason": "r"}, headers=kit.auth(Role.OPERATOR))
    r = await client.get("/metrics", headers=kit.auth(Role.VIEWER))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = r.text.splitlines()
    assert 'hotline_route{route="secondary"} 1.0' in lines  # from the service's status()
    assert 'hotline_api_auth_failures_total{reason="missing"} 1.0' in lines
    assert 'hotline_api_auth_failures_total{reason="invalid"} 1.0' in lines
    assert 'hotline_api_actions_total{action="pause",outcome="verified"} 1.0' in lines
    assert "# TYPE hotline_api_auth_failures_total counter" in lines


async def test_metrics_public_when_configured(kit):
    app = create_app(kit.fake(), kit.make_config(metrics_public=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert "hotline_api_actions_total" in r.text


async def test_openapi_documents_auth_and_bounds(client):
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path in ("/v1/status", "/v1/events", "/v1/failover", "/v1/pause"):
        op = next(iter(schema["paths"][path].values()))
        assert op["security"] == [{"bearer": []}], path
        assert {"401", "403"} <= set(op["responses"]), path
    for path in ("/healthz", "/readyz", "/leader"):
        assert "security" not in schema["paths"][path]["get"]
    ttl = schema["components"]["schemas"]["FailoverRequest"]["properties"]["ttl_s"]["anyOf"][0]
    assert ttl["maximum"] == MAX_TTL
    assert (await client.get("/docs")).status_code == 404  # no CDN-backed Swagger UI
