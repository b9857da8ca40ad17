"""The demo lab's break/restore routes on the API app's auth (``controller.demo.web``).

A real ``Lab`` (emulated modem, SIP OPTIONS responders, SMTP sink on free loopback ports) behind
``create_app`` + ``demo_router``, in-process through ``httpx.ASGITransport``. Checked: the app's
roles (read lists, operate presses), 401 before the body is read, the app's refusal counters
(proof that it is the app's check), and that the router fails closed on an app without auth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from controller.api import create_app
from controller.config import HotlineConfig, Role
from controller.demo.lab import Lab, lab_config
from controller.demo.web import demo_router

pytestmark = pytest.mark.slow  # starts the lab's peers (all in-process, loopback)


@dataclass
class Demo:
    client: httpx.AsyncClient
    lab: Lab
    tokens: dict[Role, str]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def demo(kit, tmp_path: Path) -> AsyncIterator[Demo]:
    cfg: HotlineConfig = lab_config(free_ports=True, state_dir=tmp_path)
    lab = Lab(cfg)
    await lab.start()
    try:
        app = create_app(kit.fake(), cfg)
        app.include_router(demo_router(lab, cfg))
        tokens = {t.role: t.token.get_secret_value() for t in cfg.api.tokens}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
            yield Demo(client, lab, tokens)
    finally:
        await lab.stop()


async def test_operator_breaks_and_restores(demo: Demo) -> None:
    assert demo.lab.responders["trunk-a"].answering
    op = _headers(demo.tokens[Role.OPERATOR])
    r = await demo.client.post("/v1/demo/break", json={"component": "trunk-a"}, headers=op)
    assert r.status_code == 200, r.text
    assert "trunk-a broken" in r.json()["message"]
    assert not demo.lab.responders["trunk-a"].answering
    r = await demo.client.post("/v1/demo/restore", json={"component": "trunk-a"}, headers=op)
    assert r.status_code == 200
    assert demo.lab.responders["trunk-a"].answering
    r = await demo.client.post("/v1/demo/break", json={"component": "nosuch"}, headers=op)
    assert r.status_code == 422


async def test_viewer_lists_but_may_not_press(demo: Demo) -> None:
    viewer = _headers(demo.tokens[Role.VIEWER])
    listed = (await demo.client.get("/v1/demo", headers=viewer)).json()["actions"]
    assert {
        "label": "break trunk-a",
        "path": "/v1/demo/break",
        "method": "POST",
        "body": {"component": "trunk-a"},
    } in listed
    r = await demo.client.post("/v1/demo/break", json={"component": "trunk-a"}, headers=viewer)
    assert r.status_code == 403
    assert r.json()["detail"] == "role 'viewer' may not operate"
    assert demo.lab.responders["trunk-a"].answering


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Basic eDp5", "Bearer {operator}x", "Bearer {operator_prefix}"],
)
async def test_without_a_valid_token_nothing_happens_not_even_body_parsing(
    demo: Demo, header: str | None
) -> None:
    op = demo.tokens[Role.OPERATOR]
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header.format(operator=op, operator_prefix=op[:-1])
    r = await demo.client.post("/v1/demo/break", content=b"{broken", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await demo.client.get("/v1/demo", headers=headers)).status_code == 401
    assert demo.lab.responders["trunk-a"].answering


async def test_refusals_are_counted_by_the_apps_auth(demo: Demo) -> None:
    await demo.client.post(
        "/v1/demo/break", json={"component": "pbx"}, headers=_headers("lab-not-a-token-at-all")
    )
    metrics = await demo.client.get("/metrics", headers=_headers(demo.tokens[Role.VIEWER]))
    assert 'hotline_api_auth_failures_total{reason="invalid"} 1.0' in metrics.text


async def test_pbx_token_sees_nothing(kit, tmp_path: Path) -> None:
    cfg = kit.make_config()
    app = create_app(kit.fake(), cfg)
    app.include_router(demo_router(Lab(cfg)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        r = await client.get("/v1/demo", headers=kit.auth(Role.PBX))
        assert r.status_code == 403
        r = await client.get("/v1/demo", headers=kit.auth(Role.ADMIN))
        assert r.status_code == 200


async def test_on_an_app_without_auth_the_router_refuses(kit) -> None:
    app = FastAPI()
    app.include_router(demo_router(Lab(kit.make_config())))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        r = await client.post(
            "/v1/demo/break", json={"component": "trunk-a"}, headers=kit.auth(Role.OPERATOR)
        )
        assert r.status_code == 500
