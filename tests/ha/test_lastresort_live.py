"""The last-resort rule end to end: a real ZooKeeper that goes away, the modem emulator on a pty
(a real /dev/pts device, as a USB modem would be), the project's modem driver, and the lock."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import serial

from controller.config import HotlineConfig
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.zookeeper import ZooKeeperCoordinator
from controller.loop.actuators.modem import ModemActuator
from controller.loop.lastresort import LastResortWatch, modem_forward
from controller.notifier.signal import Signal
from health.model import ComponentState, HealthSnapshot, Status
from modem.device import ModemDevice
from tests.ha.daemon_lab import ROOT, lab_dict
from tests.support.modem_sim import modem_sim_argv
from tests.support.zk_lab import ZkEnsemble, free_ports

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

ALICE = "+420777000001"  # on call per examples/lab.yaml's rotation at the test's instant
AT = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


class Sim:
    def __init__(self, tmp: Path) -> None:
        self.control_port = free_ports(1)[0]
        self.link = tmp / "modem-pty"
        env = dict(
            os.environ,
            LAB_PIN="1234",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        with (tmp / "sim.log").open("ab") as log:
            self.proc = subprocess.Popen(
                modem_sim_argv(
                    serve=["--pty", str(self.link)], control_port=self.control_port, latency_s=0.02
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.link.exists():
            time.sleep(0.05)
        self.device = os.path.realpath(self.link)  # /dev/pts/N: a local serial device

    def forwarded_to(self) -> str | None:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(b'{"cmd": "get_state"}\n')
            state: dict[str, Any] = json.loads(s.makefile().readline())["state"]
        fwd = state["forwarding"]["unconditional"]
        return fwd["number"] if fwd["active"] else None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    s = Sim(tmp_path)
    try:
        yield s
    finally:
        s.stop()


class Sink:
    def __init__(self) -> None:
        self.signals: list[Signal] = []

    async def signal(self, s: Signal) -> None:
        self.signals.append(s)


def config(zk: ZkEnsemble, device: str) -> HotlineConfig:
    data = lab_dict()
    data["hotline"]["modem"]["url"] = device
    data["coordination"] = {
        "backend": "zookeeper",
        "zookeeper": {
            "hosts": list(zk.hosts),
            "path": "/hotline/lr",
            "session_timeout_s": 2.0,
            "last_resort_after_s": 1.0,
        },
    }
    return HotlineConfig.model_validate(data)


def all_down(cfg: HotlineConfig) -> HealthSnapshot:
    return HealthSnapshot.of(
        AT, [ComponentState(n, Status.DOWN, AT, "timeout") for n in cfg.components]
    )


@pytest.fixture
async def node(zk1: ZkEnsemble, sim: Sim) -> AsyncIterator[tuple[HotlineConfig, Any, Any]]:
    cfg = config(zk1, sim.device)
    assert cfg.coordination.zookeeper is not None
    coord = ZooKeeperCoordinator(cfg.coordination.zookeeper, "modem-node")
    link = ModemDevice(sim.device, pin="1234", command_timeout=5, network_timeout=5)
    await coord.start()
    try:
        yield cfg, coord, link
    finally:
        await link.close()
        await coord.stop()


async def run_until_fired(watch: LastResortWatch, cfg: HotlineConfig, timeout: float) -> list[str]:
    reasons = []
    for _ in range(int(timeout / 0.1)):
        verdict = await watch.tick(all_down(cfg), None, AT)
        reasons.append(verdict.reason)
        if verdict.fire:
            break
        await asyncio.sleep(0.1)
    return reasons


def _forward(link: Any) -> Any:
    """The forward the daemon gives the rule: the modem actuator's apply and verify."""
    return modem_forward(ModemActuator(ModemActuatorSettings(type="modem", retries=0), link))


async def test_without_quorum_the_modem_node_forwards_to_oncall(
    zk1: ZkEnsemble, sim: Sim, node: tuple[HotlineConfig, Any, Any]
) -> None:
    cfg, coord, link = node
    sink = Sink()
    watch = LastResortWatch(cfg, coord.quorum_lost_since, _forward(link), sink)
    for _ in range(50):
        if coord.quorum_lost_since() is None:
            break
        await asyncio.sleep(0.1)
    # With ZooKeeper answering, a total outage is the leader's business, not the rule's.
    assert not (await watch.tick(all_down(cfg), None, AT)).fire
    zk1.servers[0].stop()
    try:
        lost = time.monotonic()
        reasons = await run_until_fired(watch, cfg, 10)
        assert "last resort: no ZooKeeper quorum" in reasons[-1], reasons[-3:]
        assert time.monotonic() - lost >= 2.0  # the session timeout passed first
        assert any("waiting" in r for r in reasons)
        assert sim.forwarded_to() == ALICE  # through the real driver, verified by read-back
        assert [(s.key, s.active) for s in sink.signals] == [("last_resort", True)]
        assert not (await watch.tick(all_down(cfg), ALICE, AT)).fire  # once per outage
    finally:
        zk1.servers[0].start()
        zk1.wait_serving(30)


async def test_another_exclusive_holder_of_the_port_blocks_the_rule(
    zk1: ZkEnsemble, sim: Sim, node: tuple[HotlineConfig, Any, Any]
) -> None:
    cfg, _coord, link = node
    watch = LastResortWatch(cfg, lambda: time.monotonic() - 60, _forward(link), Sink())
    holder = serial.Serial(sim.device, exclusive=True)
    try:
        await asyncio.sleep(1.1)  # past last_resort_after_s with the outage seen
        first = await watch.tick(all_down(cfg), None, AT)
        await asyncio.sleep(1.1)
        verdict = await watch.tick(all_down(cfg), None, AT)
        assert not verdict.fire and "blocked" in verdict.reason, (first, verdict)
        assert sim.forwarded_to() != ALICE
    finally:
        holder.close()
    assert (await watch.tick(all_down(cfg), None, AT)).fire
    assert sim.forwarded_to() == ALICE
