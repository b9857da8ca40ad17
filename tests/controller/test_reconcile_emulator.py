"""The reconcile loop driving the real modem driver against the modem emulator in-process: the
forwarding the network holds follows the route, drift injected on the network side is restored,
and a network that refuses the change leaves the route failed, never reported as switched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.loop.actuators.modem import DriverDevice, ModemActuator, ModemLink
from controller.loop.events import EventStore
from controller.loop.reconcile import Reconciler
from controller.loop.state import ControllerState
from health.model import Status
from modem.emulator import ModemEmulator
from modem.emulator.control import handle
from tests.controller.helpers import Clock, FakeHealth, lab_config

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cfg = lab_config(reconcile={"drift_check_s": 5, "retry_failed_s": 5})
        self.clock = Clock()
        self.health = FakeHealth(self.cfg, self.clock.now)

    async def start(self) -> None:
        self.emu = ModemEmulator(pin="1234")
        port = await self.emu.start_tcp()
        self.link = ModemLink(
            f"socket://127.0.0.1:{port}",
            pin="1234",
            command_timeout=5,
            network_timeout=5,
            retry_delays=(0.05,),
            reconnect_delays=(0.05,),
        )
        self.coord = LocalCoordinator(self.tmp / "c.db", "emu-1")
        await self.coord.start()
        self.events = EventStore(self.tmp / "e.db")
        act = ModemActuator(
            ModemActuatorSettings(type="modem", retries=1, backoff_s=0.05, timeout_s=10),
            DriverDevice(self.link),
        )
        self.loop = Reconciler(
            self.cfg, self.health, self.coord, self.events, [act], clock=self.clock
        )
        await self.loop.start_up()

    def network_forwards_to(self) -> str | None:
        fwd = self.emu.voice_forwarding(0)
        return fwd.number if fwd.active else None

    async def stop(self) -> None:
        await self.link.close()
        await self.coord.stop()
        self.events.close()
        await self.emu.stop()


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    b = Bench(tmp_path)
    await b.start()
    yield b
    await b.stop()


async def test_forwarding_follows_the_route_and_drift_is_restored(bench: Bench) -> None:
    await bench.loop.tick()
    assert bench.network_forwards_to() == PRIMARY
    bench.health.set("trunk-a", Status.DOWN, bench.clock.advance(1))
    await bench.loop.tick()
    assert bench.network_forwards_to() == SECONDARY
    assert (await ControllerState(bench.coord).route()).route is Route.SECONDARY

    # Drift on the network side (as `hotline modem-sim`'s control port would inject it).
    handle(
        bench.emu, {"cmd": "set_forwarding", "reason": "unconditional", "number": "+420999000111"}
    )
    bench.clock.advance(6)
    await bench.loop.tick()
    assert bench.network_forwards_to() == SECONDARY
    drift = bench.events.list(kind="drift")
    assert len(drift) == 1 and "+420999000111" in drift[0].reason
    assert bench.loop.view.observed == "secondary"


async def test_a_refusing_network_leaves_the_route_failed(bench: Bench) -> None:
    await bench.loop.tick()
    bench.emu.faults.no_network = True
    bench.health.set("trunk-a", Status.DOWN, bench.clock.advance(1))
    await bench.loop.tick()
    rec = await ControllerState(bench.coord).route()
    assert rec.route is Route.PRIMARY and rec.failed
    assert bench.network_forwards_to() == PRIMARY
    assert bench.events.list(kind="switch")[-1].outcome == "failed"
    bench.emu.faults.no_network = False
    bench.clock.advance(6)
    await bench.loop.tick()
    assert bench.network_forwards_to() == SECONDARY
    assert not (await ControllerState(bench.coord).route()).failed
