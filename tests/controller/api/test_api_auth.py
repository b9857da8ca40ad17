"""Who may call what: 401 without a valid token, 403 for a role that lacks the permission, and the
token check itself (constant-time compare against every token, nothing secret echoed or logged)."""

from __future__ import annotations

import logging

import httpx
import pytest

from controller.api import auth as auth_module
from controller.api import create_app
from controller.config import Role

READS = [("GET", "/v1/status"), ("GET", "/v1/events"), ("GET", "/v1/topology")]
WRITES = [
    ("POST", "/v1/failover", {"to": "secondary", "reason": "trunk A maintenance"}),
    ("POST", "/v1/failback", {"reason": "maintenance over"}),
    ("POST", "/v1/pause", {"reason": "carrier migration"}),
    ("POST", "/v1/resume", {"reason": "migration done"}),
]
# role → expected status for a read, and for a write
EXPECTED = {
    Role.VIEWER: (200, 403),
    Role.OPERATOR: (200, 200),
    Role.ADMIN: (200, 200),
    Role.PBX: (403, 403),
}


async def _request(client: httpx.AsyncClient, method: str, path: str, body=None, headers=None):
    return await client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path"), READS + [(m, p) for m, p, _ in WRITES])
async def test_each_role_gets_what_its_permissions_allow(client, kit, role, method, path):
    body = next((b for m, p, b in WRITES if p == path), None)
    r = await _request(client, method, path, body, kit.auth(role))
    read_code, write_code = EXPECTED[role]
    assert r.status_code == (read_code if method == "GET" else write_code), r.text
    if r.status_code == 403:
        assert r.json()["detail"] == f"role '{role.value}' may not " + (
            "read" if method == "GET" else "operate"
        )


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-configured-token-at-all",
        "Token viewer-secret-token-AAAA1111",  # right secret, wrong scheme
        "Bearer viewer-secret-token-AAAA111",  # one character short
        "Bearer viewer-secret-token-AAAA11111",  # one character long
    ],
)
@pytest.mark.parametrize(("method", "path"), READS + [(m, p) for m, p, _ in WRITES])
async def test_no_valid_token_is_401_with_a_bearer_challenge(client, service, header, method, path):
    body = next((b for m, p, b in WRITES if p == path), None)
    headers = {} if header is None else {"Authorization": header}
    r = await _request(client, method, path, body, headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["detail"] in ("missing bearer token", "invalid bearer token")
    assert service.calls == [], "the service must not be reached"


async def test_scheme_is_case_insensitive(client, kit):
    header = {"Authorization": f"bearer {kit.tokens[Role.VIEWER]}"}
    r = await client.get("/v1/status", headers=header)
    assert r.status_code == 200


async def test_anonymous_broken_json_is_401_not_422(client, service):
    """Authentication runs before the body is parsed: no hints for anonymous clients."""
    r = await client.post(
        "/v1/failover", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401
    r = await client.post("/v1/failover", json={"to": "nowhere", "extra": 1})
    assert r.status_code == 401
    assert service.calls == []


async def test_viewer_broken_json_is_403_not_422(client, kit, service):
    r = await client.post(
        "/v1/pause",
        content=b"[",
        headers={**kit.auth(Role.VIEWER), "Content-Type": "application/json"},
    )
    assert r.status_code == 403
    assert service.calls == []


async def test_probes_need_no_token(client, service):
    assert (await client.get("/healthz")).json() == {"status": "ok", "node": "lab-1"}
    r = await client.get("/readyz")
    assert (r.status_code, r.json()["ready"]) == (200, True)
    r = await client.get("/leader")
    assert (r.status_code, r.json()) == (200, {"leader": True, "node": "lab-1"})
    service.ready = False
    service.leader = False
    assert (await client.get("/readyz")).status_code == 503
    r = await client.get("/leader")
    assert (r.status_code, r.json()["leader"]) == (503, False)


async def test_dashboard_is_public(client):
    for path in ("/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "default-src 'none'" in r.headers["content-security-policy"]
    r = await client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/dashboard")


async def test_every_configured_token_is_compared_even_after_a_match(kit, monkeypatch):
    """The compare visits every token (no early exit reveals which matched) via compare_digest."""
    seen: list[tuple[bytes, bytes]] = []
    real = auth_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    registry = auth_module.TokenRegistry(kit.make_config().api.tokens)
    first = kit.tokens[Role.VIEWER]  # the first configured token
    expected = auth_module.Principal(kit.names[Role.VIEWER], Role.VIEWER)
    assert registry.authenticate(first) == expected
    assert len(seen) == len(registry) == 4
    assert all(len(a) == len(b) == 32 for a, b in seen), "fixed-length digests, not raw tokens"
    seen.clear()
    assert registry.authenticate("x" * 40) is None
    assert len(seen) == 4


async def test_secrets_never_in_responses_or_logs(client, kit, service, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = list(kit.tokens.values())
    responses = [
        await client.get("/v1/status", headers=kit.auth(Role.VIEWER)),
        await client.get("/v1/status", headers={"Authorization": "Bearer " + secrets[0][:-1]}),
        await client.post("/v1/failover", json={"to": "x"}, headers=kit.auth(Role.OPERATOR)),
        await client.post(
            "/v1/failover",
            json={"to": "secondary", "reason": secrets[1]},  # a careless operator pastes a token
            headers=kit.auth(Role.VIEWER),
        ),
        await client.get("/v1/events?since=" + secrets[2], headers=kit.auth(Role.ADMIN)),
        await client.get("/metrics", headers=kit.auth(Role.PBX)),
    ]
    service.fail_with = RuntimeError("boom " + secrets[3])
    responses.append(await client.get("/v1/status", headers=kit.auth(Role.ADMIN)))
    assert [r.status_code for r in responses] == [200, 401, 422, 403, 422, 403, 500]
    assert responses[-1].json() == {"detail": "internal error"}
    # the server's own records (httpx's client-side request log is the test's, not the app's)
    server_log = "\n".join(
        f"{rec.getMessage()} {rec.exc_text or ''}"
        for rec in caplog.records
        if not rec.name.startswith("httpx")
    )
    text = server_log + "".join(r.text + str(r.headers) for r in responses)
    for secret in secrets:
        assert secret not in text
        assert secret[:-1] not in text
    assert "api_auth_failed reason=invalid" in caplog.text
    assert "api_forbidden who=pbx-bot role=pbx" in caplog.text


async def test_no_tokens_configured_means_nobody_gets_in(kit):
    cfg = kit.make_config().model_copy(
        update={"api": kit.make_config().api.model_copy(update={"tokens": ()})}
    )
    app = create_app(kit.fake(), cfg)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/v1/status", headers={"Authorization": "Bearer " + "a" * 20})
    assert r.status_code == 401
