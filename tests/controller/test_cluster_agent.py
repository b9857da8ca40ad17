"""The cluster agent and the cluster's truth, with a coordinator whose role the test switches:
modem custody against the emulator, the shared read-back record across leaders, the status after
the last-resort rule fired and without quorum, and ``hotline cluster``'s table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.cli.cluster import format_cluster
from controller.config import HotlineConfig, Route
from controller.daemon import assemble
from controller.daemon_cluster import MODEM_KEY, ClusterAgent
from controller.loop.lastresort import LastResortWatch
from controller.loop.parts import Cached
from controller.loop.state import RouteRecord
from controller.notifier.signal import NullSink
from controller.service.impl import ControllerServiceImpl
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
from tests.controller.helpers import T0, FakeHealth, lab_config
from tests.support.memory_coordinator import MemoryCoordinator

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


@dataclass
class Kit:
    cfg: HotlineConfig
    coord: MemoryCoordinator
    device: ModemDevice
    emu: ModemEmulator
    agent: ClusterAgent
    service: ControllerServiceImpl
    watch: LastResortWatch


async def _never(number: str) -> None:
    raise AssertionError("the rule's forward is not run here")


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    cfg = lab_config(
        node={"name": "node-b", "state_dir": str(tmp_path / "state")}, notifier={"enabled": False}
    )
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp("127.0.0.1", 0)
    coord = MemoryCoordinator("node-b", other="node-a")
    device = ModemDevice(
        f"socket://127.0.0.1:{port}",
        pin="1234",
        command_timeout=5,
        network_timeout=5,
        may_open=coord.may_actuate,
        reconnect_delays=(0.05,),
    )
    parts = await assemble(cfg, monitor=FakeHealth(cfg, T0), link=device, sink=NullSink())
    watch = LastResortWatch(cfg, coord.quorum_lost_since, _never)
    agent = ClusterAgent(cfg, coord, device, parts.loop, watch)
    service = ControllerServiceImpl(cfg, parts.loop, FakeHealth(cfg, T0), coord, parts.events)
    service.agent = agent
    try:
        yield Kit(cfg, coord, device, emu, agent, service, watch)
    finally:
        await device.close()
        parts.events.close()
        await emu.stop()


async def _until(what: str, check: object, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if callable(check) and check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_custody_opens_the_modem_for_the_leader_and_closes_it_for_anyone_else(
    kit: Kit,
) -> None:
    kit.coord.leader = True
    await kit.agent.custody()
    await _until("the leader holds the modem", kit.device.is_open)
    assert kit.emu.connections == 1
    kit.coord.leader = False  # deposed, or its lease ran out
    await kit.agent.custody()
    assert not kit.device.is_open()
    await _until("the connection ends", lambda: kit.emu.connections == 0)
    await kit.agent.custody()  # a follower does not open it again
    await asyncio.sleep(0.1)
    assert not kit.device.is_open() and kit.emu.connections == 0


async def test_the_read_back_record_keeps_the_last_write_across_leaders(kit: Kit) -> None:
    earlier = {"number": PRIMARY, "at": T0.isoformat(), "node": "node-a", "epoch": 3}
    kit.coord.docs[MODEM_KEY] = {**earlier, "route": "primary", "wrote": True, "write": earlier}
    kit.coord.leader = True
    assert await kit.device.read_forwarding() is None  # the emulator forwards nowhere yet
    await kit.agent.exchange()  # a new leader's first exchange: its cache holds nothing yet
    doc = kit.coord.docs[MODEM_KEY]
    assert doc["node"] == "node-b" and doc["number"] is None and not doc["wrote"]
    assert doc["write"] == earlier  # still node-a's, epoch 3: node-b wrote nothing
    await kit.device.write_forwarding(SECONDARY)
    await kit.agent.exchange()
    write = kit.coord.docs[MODEM_KEY]["write"]
    assert write["node"] == "node-b" and write["number"] == SECONDARY
    status = kit.service.status()
    assert status.cluster is not None and status.cluster.written_by is not None
    assert status.cluster.written_by.node == "node-b" and status.cluster.readback is not None
    assert status.cluster.readback.number == SECONDARY and status.cluster.readback.wrote


async def test_after_the_last_resort_rule_fired_status_shows_the_oncall_forward(
    kit: Kit,
) -> None:
    kit.service.loop.cache = Cached(RouteRecord(Route.PRIMARY, PRIMARY, T0, verified=True))
    kit.coord.leader, kit.coord.lost_since = False, 0.0  # no quorum for a long while
    status = kit.service.status()
    assert status.active.route is Route.PRIMARY and not status.active.verified
    assert status.leader is None and "no ZooKeeper quorum" in (status.cluster.note or "")
    kit.watch.runner.fired_to = "+420777000001"
    await kit.agent.custody()
    kit.agent._note_last_resort()
    status = kit.service.status()
    assert status.active.route is Route.ONCALL and status.active.number == "+420777000001"
    assert status.active.verified  # the rule verified it by read-back
    assert status.cluster is not None and status.cluster.written_by is not None
    assert status.cluster.written_by.kind == "last-resort"
    assert kit.agent.role() == "last-resort"


async def test_a_followers_status_shows_the_leaders_decision(kit: Kit) -> None:
    kit.coord.leader = False  # node-a leads (MemoryCoordinator's other node)
    kit.agent.cache.members = {
        "node-a": {
            "node": "node-a",
            "may_actuate": True,
            "role": "leader",
            "holds_modem": True,
            "at": T0.isoformat(),
            "decision": {
                "desired": "secondary",
                "reason": "trunk A down",
                "conditions": ["partial_outage"],
            },
        }
    }
    kit.agent.cache.as_of = T0
    status = kit.service.status()
    assert status.leader == "node-a" and not status.may_actuate and not status.is_leader
    assert status.desired is Route.SECONDARY and status.reason == "trunk A down"
    assert status.conditions == ["partial_outage"] and status.own_decision is None
    table = format_cluster(kit.service.cluster().model_dump(mode="json"))
    lines = table.splitlines()
    assert lines[0].startswith("cluster epoch 1  leader node-a")
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["node-a"][1:4] == ["leader", "yes", "-"] and "HOLDS" in rows["node-a"]
    assert rows["node-b"][1:3] == ["follower", "no"] and "HOLDS" not in rows["node-b"]
