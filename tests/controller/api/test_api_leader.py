"""``POST /v1/leader/handover``: admin only, the service's ``handover(who)`` with the token's name,
the ActionResult → status mapping, and 501 for a service that has no ``handover``."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from controller.api import create_app
from controller.config import Role, Route
from controller.service.contract import ActionResult

PATH = "/v1/leader/handover"


async def test_admin_hands_over_as_the_tokens_name(client, kit, service, caplog):
    caplog.set_level(logging.INFO, logger="hotline.api")
    service.result = ActionResult(
        accepted=True, verified=True, route=Route.PRIMARY, message="node-2 leads now", event_id=9
    )
    r = await client.post(PATH, headers=kit.auth(Role.ADMIN))
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "node-2 leads now"
    assert service.calls == [("handover", {"who": kit.names[Role.ADMIN]})]
    assert "action=handover" in caplog.text and "status=200" in caplog.text
    metrics = await client.get("/metrics", headers=kit.auth(Role.VIEWER))
    assert 'hotline_api_actions_total{action="handover",outcome="verified"} 1' in metrics.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.PBX])
async def test_other_roles_may_not_hand_over(client, kit, service, role):
    r = await client.post(PATH, headers=kit.auth(role))
    assert r.status_code == 403
    assert r.json()["detail"] == f"role '{role.value}' may not admin"
    assert service.calls == []


async def test_no_token_is_401(client, service):
    r = await client.post(PATH)
    assert r.status_code == 401
    assert service.calls == []


@pytest.mark.parametrize(
    ("accepted", "verified", "code"),
    [(True, True, 200), (True, False, 202), (False, False, 409)],
)
async def test_result_maps_to_status(client, kit, service, accepted, verified, code):
    message = "this node is not the leader" if not accepted else "handed over"
    service.result = ActionResult(accepted=accepted, verified=verified, route=None, message=message)
    r = await client.post(PATH, headers=kit.auth(Role.ADMIN))
    assert r.status_code == code
    assert ActionResult.model_validate(r.json()) == service.result


class _WithoutHandover:
    """A service from before handover existed: every other method of the fake, not that one."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "handover":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_a_service_without_handover_answers_501(kit):
    app = create_app(_WithoutHandover(kit.fake()), kit.make_config())  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post(PATH, headers=kit.auth(Role.ADMIN))
        assert r.status_code == 501
        assert "cannot hand over leadership" in r.json()["detail"]
        assert (await c.get("/v1/status", headers=kit.auth(Role.VIEWER))).status_code == 200
        anonymous = await c.post(PATH)
        assert anonymous.status_code == 401, "auth still comes first"


async def test_openapi_documents_the_handover(client):
    op = (await client.get("/openapi.json")).json()["paths"][PATH]["post"]
    assert {"200", "202", "401", "403", "409", "501"} <= set(op["responses"])
