"""The real ControllerService over a running reconcile loop (in-memory modem, settable health):
manual failover/failback/pause/resume wait for the verified result, refusals are reported, the
status and metrics reflect the loop, and the HTTP API serves it (in-process ASGI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.reconcile import Reconciler
from controller.notifier.signal import Signal
from controller.service.impl import ControllerServiceImpl
from health.model import Status
from tests.controller.helpers import FakeHealth, MemoryForwarding, lab_config

SECONDARY = "+420212000002"


class Running:
    def __init__(self, tmp: Path) -> None:
        self.cfg = lab_config(
            actuators=[{"type": "modem", "retries": 0, "timeout_s": 5}],
            reconcile={"interval_s": 0.05, "action_wait_s": 5},
            failover={"failback_hold_s": 0, "flap_max_switches": 20, "flap_window_s": 300},
        )
        self.device = MemoryForwarding()
        self.health = FakeHealth(self.cfg, datetime(2026, 1, 1, tzinfo=UTC))
        self.coord = LocalCoordinator(tmp / "state.db", "svc-1")
        self.events = EventStore(tmp / "events.db")
        acts = [ModemActuator(ModemActuatorSettings(type="modem", retries=0), self.device)]
        self.signals: list[Signal] = []
        self.loop = Reconciler(
            self.cfg,
            self.health,  # type: ignore[arg-type]
            self.coord,
            self.events,
            acts,
            sink=self,
        )
        self.svc = ControllerServiceImpl(self.cfg, self.loop, self.health, self.coord, self.events)
        self.stop = asyncio.Event()

    async def signal(self, s: Signal) -> None:
        """The loop's alerts sink: what the notifier would be told."""
        self.signals.append(s)

    async def __aenter__(self) -> Running:
        await self.coord.start()
        await self.loop.start_up()
        self.task = asyncio.create_task(self.loop.run(self.stop))
        self.svc.mark_ready()
        for _ in range(100):
            if self.loop.cache.route.route is Route.PRIMARY:
                break
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)
        await self.coord.stop()
        self.events.close()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with Running(tmp_path) as r:
        yield r


async def test_manual_failover_and_failback_are_verified(running: Running) -> None:
    svc = running.svc
    assert svc.is_ready() and svc.status().active.route is Route.PRIMARY
    res = await svc.failover(Route.SECONDARY, "carrier A maintenance", 600, False, "ops")
    assert res.accepted and res.verified and res.route is Route.SECONDARY
    assert running.device.number == SECONDARY
    st = svc.status()
    assert st.mode == "override" and st.override is not None and st.override.who == "ops"
    assert "carrier A maintenance" in st.reason
    back = await svc.failback("done", "ops")
    assert back.accepted and back.verified and back.route is Route.PRIMARY
    manual = [e for e in svc.events(None, 100) if e.kind == "manual"]
    assert [e.details["action"] for e in manual] == ["failover", "failback"]
    # the technician is told of both moves, each naming who and why (the move back was silent)
    told = [(s.route, s.by, s.why) for s in running.signals if s.key == "manual" and s.active]
    assert told == [("secondary", "ops", "carrier A maintenance"), ("primary", "ops", "done")]
    assert all(e.who == "ops" for e in manual)


async def test_override_onto_a_down_route_is_refused_unless_forced(running: Running) -> None:
    running.health.set("trunk-b", Status.DOWN, datetime.now(UTC))
    res = await running.svc.failover(Route.SECONDARY, "test", None, False, "ops")
    assert not res.accepted and "down" in res.message
    assert running.svc.status().override is None
    forced = await running.svc.failover(Route.SECONDARY, "test", None, True, "ops")
    assert forced.accepted and forced.verified and forced.route is Route.SECONDARY


async def test_pause_freezes_and_resume_catches_up(running: Running) -> None:
    svc = running.svc
    res = await svc.pause("PBX upgrade", "admin")
    assert res.accepted and svc.status().mode == "paused"
    running.health.set("trunk-a", Status.DOWN, datetime.now(UTC))
    await running.loop.next_tick()
    await running.loop.next_tick()
    assert svc.status().active.route is Route.PRIMARY
    assert "paused by admin" in svc.status().reason
    res = await svc.resume("upgrade done", "admin")
    assert res.verified and res.route is Route.SECONDARY


async def test_ttl_beyond_the_maximum_is_refused(running: Running) -> None:
    res = await running.svc.failover(Route.SECONDARY, "x", 10 * 86400, False, "ops")
    assert not res.accepted and "ttl_s" in res.message


async def test_metrics_count_switches(running: Running) -> None:
    from controller.metrics import render_text
    from controller.metrics.status import StatusCollector

    await running.svc.failover(Route.SECONDARY, "m", 60, False, "ops")
    text = render_text(StatusCollector(running.svc, "svc-1"), *running.svc.collectors())
    assert 'hotline_switches_total{route="secondary"} 1.0' in text
    assert 'hotline_route{route="secondary"} 1.0' in text
    assert "hotline_route_verified 1.0" in text


async def test_the_http_api_serves_the_real_service(running: Running) -> None:
    app_mod = pytest.importorskip("controller.api.app")
    app = app_mod.create_app(running.svc, running.cfg)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer lab-operator-token-001"}
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        r = await client.post(
            "/v1/failover", json={"to": "secondary", "reason": "api test"}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["route"] == "secondary"
        r = await client.get("/v1/status", headers=headers)
        assert r.json()["active"]["route"] == "secondary"
        r = await client.get("/v1/events", params={"limit": 5}, headers=headers)
        assert r.status_code == 200 and r.json()


async def test_a_follower_forwards_actions_to_the_leader(running: Running, tmp_path: Path) -> None:
    from tests.controller.helpers import SwitchableCoordinator

    follower_coord = SwitchableCoordinator(running.coord)
    follower_coord.leader = False
    follower_coord.leader_handler = running.svc.handle_intent
    follower = ControllerServiceImpl(
        running.cfg, running.loop, running.health, follower_coord, running.events
    )
    res = await follower.failover(Route.SECONDARY, "from node 2", 60, False, "ops")
    assert res.accepted and res.verified and res.route is Route.SECONDARY
    assert running.device.number == SECONDARY
    back = await follower.failback("done", "ops")
    assert back.verified and back.route is Route.PRIMARY

    # The leader's handler refuses if it lost the lead meanwhile (no ping-pong).
    leader_lost = SwitchableCoordinator(running.coord)
    leader_lost.leader = False
    orphan = ControllerServiceImpl(
        running.cfg, running.loop, running.health, leader_lost, running.events
    )
    answer = await orphan.handle_intent({"action": "pause", "reason": "x", "who": "ops"})
    assert answer["accepted"] is False and "other-node" in answer["message"]


async def test_a_single_node_cannot_hand_leadership_over(tmp_path: Path) -> None:
    async with Running(tmp_path) as r:
        result = await r.svc.handover("ops")
        assert not result.accepted and not result.verified
        assert "no other node" in result.message and r.svc.is_leader()
        audit = r.events.list(kind="manual")[-1]
        assert audit.who == "ops" and "handed over" in audit.reason
