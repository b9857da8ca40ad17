"""``/metrics`` through prometheus_client, on the real service over a running reconcile loop
(in-memory forwarding, settable health), the real notifier store and the modem emulator: the
families follow Prometheus naming, report what the service reports, and each app keeps its own
registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.api.app import create_app
from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.daemon_cluster import ClusterAgent
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.reconcile import Reconciler
from controller.metrics import PROMETHEUS_TEXT, render_text
from controller.metrics.status import StatusCollector
from controller.notifier.service import Notifier
from controller.notifier.store import NotifierStore
from controller.service.impl import ControllerServiceImpl
from health.model import ComponentState, Status
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
from tests.controller.helpers import FakeHealth, MemoryForwarding, lab_config
from tests.notifier.helpers import Clock, RecordingChannel, signal
from tests.support.clocks import ticking_from
from tests.support.memory_coordinator import MemoryCoordinator

READER = {"Authorization": "Bearer lab-operator-token-001"}
NAME = lab_config().node.name
T0 = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)


class Node:
    """The real service over a running loop (one node, local coordination)."""

    def __init__(self, tmp: Path, coord: LocalCoordinator | MemoryCoordinator | None = None):
        self.cfg = lab_config(
            actuators=[{"type": "modem", "retries": 0, "timeout_s": 5}],
            reconcile={"interval_s": 0.05, "action_wait_s": 5},
            failover={"failback_hold_s": 0, "flap_max_switches": 20, "flap_window_s": 300},
        )
        self.device = MemoryForwarding()
        self.clock = ticking_from(T0)  # one clock for the loop, the service and the tests
        self.health = FakeHealth(self.cfg, self.clock() - timedelta(minutes=5))
        self.coord = coord or LocalCoordinator(tmp / "state.db", "svc-1")
        self.events = EventStore(tmp / "events.db")
        acts = [ModemActuator(ModemActuatorSettings(type="modem", retries=0), self.device)]
        self.loop = Reconciler(
            self.cfg, self.health, self.coord, self.events, acts, clock=self.clock
        )  # type: ignore[arg-type]
        self.svc = ControllerServiceImpl(
            self.cfg, self.loop, self.health, self.coord, self.events, clock=self.clock
        )
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Node:
        await self.coord.start()
        await self.loop.start_up()
        self.task = asyncio.create_task(self.loop.run(self.stop))
        self.svc.mark_ready()
        for _ in range(100):
            if self.loop.cache.route.route is Route.PRIMARY and self.loop.cache.route.verified:
                break
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)
        await self.coord.stop()
        self.events.close()

    def text(self) -> str:
        status = StatusCollector(self.svc, self.cfg.node.name, clock=self.clock)
        return render_text(status, *self.svc.collectors())


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    async with Node(tmp_path) as n:
        yield n


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


async def scrape(app: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        return await client.get("/metrics", headers=READER)


async def test_the_app_serves_prometheus_text_from_its_own_registry(node: Node) -> None:
    first, second = create_app(node.svc, node.cfg), create_app(node.svc, node.cfg)
    r1, r2 = await scrape(first), await scrape(second)
    assert r1.status_code == r2.status_code == 200
    assert (
        r1.headers["content-type"] == PROMETHEUS_TEXT == "text/plain; version=0.0.4; charset=utf-8"
    )
    families = [f.name for f in text_string_to_metric_families(r1.text)]
    assert len(families) == len(set(families)), "a family exported twice"
    text = r1.text
    assert value(text, "hotline_build_info", version=_version()) == 1.0
    assert value(text, "process_resident_memory_bytes") and value(text, "process_open_fds")
    assert "python_info{" in text and "python_gc_objects_collected_total{" in text
    for name in families:  # Prometheus naming: a prefix, counters end in _total
        assert name.split("_")[0] in ("hotline", "process", "python"), name
    for f in text_string_to_metric_families(text):
        if f.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in f.samples), f.name
    assert not any(line.endswith("_created") for line in text.splitlines()), "no _created"


def _version() -> str:
    from controller.metrics.registry import build_version

    return build_version()


async def test_route_mode_and_override_follow_the_service(node: Node) -> None:
    text = node.text()
    assert value(text, "hotline_route", route="primary") == 1.0
    assert value(text, "hotline_route", route="secondary") == 0.0
    assert value(text, "hotline_route_verified") == 1.0
    assert value(text, "hotline_route_failed") == 0.0
    assert value(text, "hotline_mode", mode="auto") == 1.0
    assert value(text, "hotline_may_actuate", node=NAME) == 1.0
    assert value(text, "hotline_leader", node=NAME) == 1.0
    assert value(text, "hotline_coordination_session", backend="local", state="local") == 1.0
    res = await node.svc.failover(Route.SECONDARY, "carrier maintenance", 600, False, "ops")
    assert res.verified
    text = node.text()
    assert value(text, "hotline_route", route="secondary") == 1.0
    assert value(text, "hotline_switches_total", route="secondary") == 1.0
    assert value(text, "hotline_mode", mode="override") == 1.0
    assert value(text, "hotline_override_route", route="secondary") == 1.0
    left = value(text, "hotline_override_remaining_seconds")
    assert left is not None and 590 < left <= 600
    assert value(text, "hotline_condition", condition="override") == 1.0
    await node.svc.pause("PBX upgrade", "admin")
    text = node.text()
    assert value(text, "hotline_mode", mode="paused") == 1.0
    assert value(text, "hotline_paused") == 1.0


async def test_a_paused_controller_on_a_dead_route_says_so(node: Node) -> None:
    await node.svc.pause("PBX upgrade", "admin")
    node.health.set("trunk-a", Status.DOWN, node.clock())
    for _ in range(3):
        await node.loop.next_tick()
    text = node.text()
    assert value(text, "hotline_condition", condition="paused_on_down_route") == 1.0
    assert (
        value(text, "hotline_component_status", component="trunk-a", kind="trunk", status="down")
        == 1.0
    )
    assert (
        value(text, "hotline_component_status", component="trunk-a", kind="trunk", status="up")
        == 0.0
    )
    assert value(text, "hotline_route", route="primary") == 1.0


async def test_components_report_samples_age_and_interval(node: Node) -> None:
    now = node.clock()
    node.health.states["trunk-b"] = ComponentState(
        "trunk-b", Status.UP, now - timedelta(minutes=5), latency_ms=12.5, samples=42,
        last_at=now - timedelta(seconds=90),
    )  # fmt: skip
    text = node.text()
    assert value(text, "hotline_component_samples_total", component="trunk-b") == 42.0
    age = value(text, "hotline_component_last_sample_age_seconds", component="trunk-b")
    assert age is not None and 90 <= age < 95
    assert value(text, "hotline_component_latency_seconds", component="trunk-b") == 0.0125
    interval = node.cfg.components["trunk-b"].interval_s
    assert value(text, "hotline_component_probe_interval_seconds", component="trunk-b") == interval
    assert value(text, "hotline_component_last_sample_age_seconds", component="trunk-a") is None


class LapsedLeader(MemoryCoordinator):
    """Still the elected leader, but its lease ran out (ZooKeeper after a session pause)."""

    def may_actuate(self) -> bool:
        return False


async def test_hotline_leader_reports_the_election_and_may_actuate_the_lease(
    tmp_path: Path,
) -> None:
    async with Node(tmp_path, LapsedLeader("svc-1", other="svc-2")) as n:
        text = n.text()
    assert value(text, "hotline_leader", node=NAME) == 1.0
    assert value(text, "hotline_may_actuate", node=NAME) == 0.0
    help_ = next(
        f.documentation for f in text_string_to_metric_families(text) if f.name == "hotline_leader"
    )
    assert "holds the leadership" in help_ and "hotline_may_actuate" in help_


async def test_the_modem_signal_and_registration_come_from_its_last_status(node: Node) -> None:
    emu = ModemEmulator(pin="1234")
    emu.faults.latency = 0.01
    dev = ModemDevice(f"socket://127.0.0.1:{await emu.start_tcp()}", pin="1234",
                      command_timeout=2.0, network_timeout=5.0)  # fmt: skip
    node.svc.agent = ClusterAgent(node.cfg, node.coord, dev, node.loop)
    try:
        assert value(node.text(), "hotline_modem_port_open") == 0.0
        assert value(node.text(), "hotline_modem_signal_dbm") is None  # nothing read yet
        emu.signal = 10
        await dev.status()
        text = node.text()
        assert value(text, "hotline_modem_signal_dbm") == -113 + 2 * 10
        assert value(text, "hotline_modem_registered") == 1.0
        assert value(text, "hotline_modem_registration", state="home") == 1.0
        assert value(text, "hotline_modem_sim_ready") == 1.0
        assert value(text, "hotline_modem_port_open") == 1.0
        emu.signal = 99  # +CSQ 99: the modem cannot tell
        await dev.status()
        assert value(node.text(), "hotline_modem_signal_dbm") is None
    finally:
        await dev.close()
        await emu.stop()


async def test_notifier_outbox_deliveries_and_incidents(tmp_path: Path) -> None:
    clock = Clock()
    cfg = lab_config()
    sms = RecordingChannel("modem_sms", fail=True)
    n = Notifier(cfg, cfg.notifier, NotifierStore(tmp_path / "n.sqlite3"), {"modem_sms": sms},
                 clock=clock)  # fmt: skip
    try:
        text = render_text(n.collector())
        assert value(text, "hotline_notifier_outbox_depth", channel="modem_sms") == 0.0
        assert value(text, "hotline_notifier_outbox_oldest_age_seconds", channel="modem_sms") == 0.0
        assert (
            value(text, "hotline_notifier_deliveries_total", channel="modem_sms", outcome="sent")
            == 0.0
        )
        await n.signal(signal())
        await n.run_once()
        clock.advance(120)
        text = render_text(n.collector())
        assert value(text, "hotline_notifier_outbox_depth", channel="modem_sms") == 1.0
        assert (
            value(text, "hotline_notifier_outbox_oldest_age_seconds", channel="modem_sms") == 120.0
        )
        failed = value(
            text, "hotline_notifier_deliveries_total", channel="modem_sms", outcome="transient"
        )
        assert failed == 1.0
        assert value(text, "hotline_incidents_open", severity="critical") == 1.0
        assert value(text, "hotline_incidents_unacknowledged") == 1.0
        sms.fail = False
        clock.advance(60)  # past the retry's backoff, before any escalation
        await n.run_once()
        text = render_text(n.collector())
        assert value(text, "hotline_notifier_outbox_depth", channel="modem_sms") == 0.0
        assert value(text, "hotline_notifier_outbox_oldest_age_seconds", channel="modem_sms") == 0.0
        sent = value(text, "hotline_notifier_deliveries_total", channel="modem_sms", outcome="sent")
        assert sent == len([r for r in n.store.outbox() if r.state == "sent"]) >= 1  # + escalation
    finally:
        await n.stop()


async def test_a_follower_exports_no_stale_incident_count(tmp_path: Path) -> None:
    cfg = lab_config()
    n = Notifier(cfg, cfg.notifier, NotifierStore(tmp_path / "n.sqlite3"),
                 {"modem_sms": RecordingChannel("modem_sms")}, is_leader=lambda: False)  # fmt: skip
    try:
        text = render_text(n.collector())
        assert "# TYPE hotline_incidents_open gauge" in text
        assert "hotline_incidents_open{" not in text
    finally:
        await n.stop()
