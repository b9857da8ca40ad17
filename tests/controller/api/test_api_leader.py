"""``POST /v1/leader/handover``: admin only, the service's ``handover(who)`` with the token's name,
the ActionResult → status mapping, and 501 for a service that has no ``handover``. ``/leader``
on may-actuate; a follower's log reads answered by the leader over real HTTP, or a 503."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from controller.api import create_app
from controller.config import Role, Route
from controller.service.contract import ActionResult, ClusterReport, MemberView

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
    assert 'hotline_api_actions_total{action="handover",outcome="verified"} 1.0' in metrics.text


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


# ---- /leader, /v1/cluster and a follower's reads of the leader's log -----------------------------


class _Cluster:
    """The cluster side of a node: whether it may actuate and where the leader's API is."""

    def __init__(self, kit: Any, acting: bool, leader: tuple[str | None, str | None]) -> None:
        self.acting, self.where, self.kit = acting, leader, kit

    def is_leader(self) -> bool:
        return self.acting

    def leader_api(self) -> tuple[str | None, str | None]:
        return self.where

    def cluster(self) -> ClusterReport:
        member = MemberView(node="node-2", role="leader", may_actuate=True, holds_modem=True)
        return ClusterReport(node="node-1", cluster_epoch=4, leader="node-2", members=[member])


async def _node(kit: Any, service: Any, cluster: _Cluster | None) -> httpx.AsyncClient:
    app = create_app(service, kit.make_config(), cluster=cluster)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@contextlib.asynccontextmanager
async def _serving(app: Any, **tls: str) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port, for the follower to reach over TCP
    (over TLS with ``ssl_certfile``/``ssl_keyfile``)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **tls)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_leader_is_503_where_the_node_may_not_actuate(kit):
    follower = kit.fake()
    follower.leader = False  # e.g. elected, but its lease ran out without a quorum
    async with await _node(kit, follower, None) as c:
        r = await c.get("/leader")
        assert r.status_code == 503 and r.json()["leader"] is False


async def test_a_followers_event_read_is_answered_by_the_leader(kit):
    leader_service = kit.fake()
    leader_service.event_list = kit.events()[:1]
    leader_app = create_app(
        leader_service, kit.make_config(), cluster=_Cluster(kit, True, (None, None))
    )
    follower = kit.fake()
    follower.event_list = []
    async with _serving(leader_app) as url:
        node = await _node(kit, follower, _Cluster(kit, False, ("node-2", url)))
        async with node as c:
            r = await c.get("/v1/events?limit=5", headers=kit.auth(Role.VIEWER))
            assert r.status_code == 200, r.text
            assert r.headers["X-Hotline-Served-By"] == "node-2"
            assert [e["id"] for e in r.json()] == [e.id for e in leader_service.event_list]
            assert leader_service.calls == [("events", {"since": None, "limit": 5})]
            local = await c.get(
                "/v1/events", headers={**kit.auth(Role.VIEWER), "X-Hotline-Local": "1"}
            )
            assert local.status_code == 200 and local.json() == []
            assert (await c.get("/v1/events")).status_code == 401  # checked here, not forwarded
            cluster = await c.get("/v1/cluster", headers=kit.auth(Role.VIEWER))
            assert cluster.json()["members"][0]["holds_modem"] is True


async def test_the_leader_unreachable_or_unknown_is_a_503_with_the_reason(kit):
    follower = kit.fake()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: nobody listens
    async with await _node(kit, follower, _Cluster(kit, False, ("node-2", dead))) as c:
        r = await c.get("/v1/events", headers=kit.auth(Role.VIEWER))
        assert r.status_code == 503
        assert "the leader node-2" in r.json()["detail"] and "did not answer" in r.json()["detail"]
    async with await _node(kit, follower, _Cluster(kit, False, (None, None))) as c:
        r = await c.get("/v1/incidents?state=open", headers=kit.auth(Role.VIEWER))
        assert r.status_code == 503 and "no node may actuate" in r.json()["detail"]
    assert follower.calls == []


def _logs(kit: Any, tmp_path: Any, name: str) -> tuple[Any, Any, Any]:
    """A node's real notifier and call log (SQLite under ``tmp_path/name``)."""
    from controller.calls.service import build_call_log
    from controller.notifier import build_notifier
    from tests.support.clocks import ticking_from

    cfg = kit.make_config()
    clock = ticking_from(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    state = tmp_path / name
    state.mkdir()
    notifier = build_notifier(cfg, modem=None, state_dir=state, clock=clock)
    calls = build_call_log(cfg.notifier.calls, cfg.schedule.timezone, state, notifier, clock=clock)
    return cfg, notifier, calls


_CALL = {
    "call_id": "pbx-1-0042",
    "caller": "+420601000999",
    "start": "2026-03-04T09:59:00+00:00",
    "end": "2026-03-04T09:59:40+00:00",
    "line": "primary",
}


async def test_writes_to_the_logs_sent_to_a_follower_reach_the_leader(kit, tmp_path):
    """A PBX's call event and an operator's close, sent to a follower, land in the leader's
    logs (the cluster's), not in the follower's own copy; a bad token is refused here."""
    cfg, l_notifier, l_calls = _logs(kit, tmp_path, "leader")
    leader_app = create_app(
        kit.fake(),
        cfg,
        notifier=l_notifier,
        calls=l_calls,
        cluster=_Cluster(kit, True, (None, None)),
    )
    _, f_notifier, f_calls = _logs(kit, tmp_path, "follower")
    async with _serving(leader_app) as url:
        follower_app = create_app(
            kit.fake(), cfg, notifier=f_notifier, calls=f_calls,
            cluster=_Cluster(kit, False, ("node-2", url)),
        )  # fmt: skip
        transport = httpx.ASGITransport(app=follower_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post("/v1/calls", json=_CALL, headers=kit.auth(Role.PBX))
            assert r.status_code == 201, r.text
            assert r.headers["X-Hotline-Served-By"] == "node-2"
            (callback,) = l_calls.callbacks(open_only=True)
            assert callback.call_id == "pbx-1-0042"
            assert f_calls.callbacks(open_only=False) == []
            close = await c.post(
                f"/v1/callbacks/{callback.id}/close", json={"note": "rang back"},
                headers=kit.auth(Role.OPERATOR),
            )  # fmt: skip
            assert close.status_code == 200, close.text
            assert l_calls.callbacks(open_only=True) == []
            bad = await c.post("/v1/calls", json=_CALL, headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401


async def test_without_a_leader_a_call_is_kept_here_and_an_ack_refused(kit, tmp_path):
    cfg, notifier, calls = _logs(kit, tmp_path, "follower")
    follower_app = create_app(
        kit.fake(), cfg, notifier=notifier, calls=calls, cluster=_Cluster(kit, False, (None, None))
    )
    transport = httpx.ASGITransport(app=follower_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post("/v1/calls", json=_CALL, headers=kit.auth(Role.PBX))
        assert r.status_code == 201, r.text
        assert [cb.call_id for cb in calls.callbacks(open_only=True)] == ["pbx-1-0042"]
        ack = await c.post("/v1/incidents/1/ack", headers=kit.auth(Role.OPERATOR))
        assert ack.status_code == 503 and "no node may actuate" in ack.json()["detail"]


class _Member(_Cluster):
    """A node of a two-node cluster whose member records carry both API addresses."""

    def __init__(self, kit: Any, name: str, service: Any, urls: dict[str, str]) -> None:
        super().__init__(kit, name == "node-1", (None, None))
        self.name, self.service, self.urls = name, service, urls

    def events(self, since: Any, limit: int) -> Any:
        return self.service.events(since, limit)

    def cluster(self) -> ClusterReport:
        members = [
            MemberView(node=n, role="leader" if n == "node-1" else "follower",
                       may_actuate=n == "node-1", api=u)
            for n, u in self.urls.items()
        ]  # fmt: skip
        return ClusterReport(node=self.name, cluster_epoch=4, leader="node-1", members=members)


async def test_the_event_log_is_the_clusters_merged_by_time(kit):
    """After a hand-over each node holds the events of its own terms: a read on any node merges
    them by time and names the node of each; a member that does not answer is named."""
    from datetime import timedelta

    from controller.service.contract import EventRecord

    t0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

    def ev(i: int, minute: int, kind: str) -> EventRecord:
        return EventRecord(id=i, at=t0 + timedelta(minutes=minute), kind=kind, reason=kind)

    old, new = kit.fake(), kit.fake()
    old.event_list = [ev(1, 0, "switch"), ev(2, 5, "handover")]
    new.event_list = [ev(1, 6, "takeover"), ev(2, 9, "switch")]
    urls: dict[str, str] = {}
    old_app = create_app(old, kit.make_config(), cluster=_Member(kit, "node-2", old, urls))
    async with _serving(old_app) as old_url:
        urls.update({"node-1": "http://127.0.0.1:9", "node-2": old_url})
        leader = _Member(kit, "node-1", new, urls)
        async with await _node(kit, new, leader) as c:
            r = await c.get("/v1/events?limit=3", headers=kit.auth(Role.VIEWER))
            assert r.status_code == 200, r.text
            got = [(e["node"], e["kind"]) for e in r.json()]
            assert got == [("node-2", "handover"), ("node-1", "takeover"), ("node-1", "switch")]
            r = await c.get(
                "/v1/events", params={"since": t0.isoformat(), "limit": 2},
                headers=kit.auth(Role.VIEWER),
            )  # fmt: skip
            assert [e["kind"] for e in r.json()] == ["handover", "takeover"]
            assert r.headers["X-Hotline-Served-By"] == "node-1,node-2"
    async with await _node(kit, new, leader) as c:  # node-2 gone: named, the rest answered
        r = await c.get("/v1/events", headers=kit.auth(Role.VIEWER))
        assert r.status_code == 200 and r.headers["X-Hotline-Missing"] == "node-2"
        assert [e["kind"] for e in r.json()] == ["takeover", "switch"]


async def test_a_follower_reads_the_leader_over_tls_with_the_peer_ca(kit, tmp_path):
    """With ``api.tls`` the members' addresses are https; the follower's proxy must trust the
    site's CA (``peer_ca``), not only the system's store, or every read it forwards is a 503."""
    from controller.config.security import ApiTls
    from tests.support.certs import TestCa

    ca = TestCa(tmp_path / "pki")
    server = ca.issue("leader")
    leader_service = kit.fake()
    leader_service.event_list = kit.events()[:1]
    leader_app = create_app(
        leader_service, kit.make_config(), cluster=_Cluster(kit, True, (None, None))
    )
    own = ca.issue("follower")
    trusting = ApiTls(cert=own.cert, key=own.key, peer_ca=ca.pem)
    default = ApiTls(cert=own.cert, key=own.key)
    async with _serving(
        leader_app, ssl_certfile=str(server.cert), ssl_keyfile=str(server.key)
    ) as url:
        assert url.startswith("https://")
        where = _Cluster(kit, False, ("node-2", url))
        for tls, code in ((trusting, 200), (default, 503)):
            app = create_app(kit.fake(), kit.make_config(tls=tls), cluster=where)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                r = await c.get("/v1/events?limit=5", headers=kit.auth(Role.VIEWER))
                assert r.status_code == code, r.text
                if code == 200:
                    assert r.headers["X-Hotline-Served-By"] == "node-2"
                else:
                    assert "did not answer: ConnectError" in r.json()["detail"]
