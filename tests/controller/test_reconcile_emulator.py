"""The reconcile loop driving the real modem driver against the modem emulator in-process: the
forwarding the network holds follows the route, drift injected on the network side is restored,
a network that refuses the change leaves the route failed, never reported as switched, and a
switch asks the network (``AT+CCFC=0,2``, seconds each on a real network) as little as it can."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.reconcile import Reconciler
from controller.loop.state import ControllerState
from health.model import Status
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
from modem.emulator.control import handle
from tests.controller.helpers import Clock, FakeHealth, lab_config

PRIMARY, SECONDARY = "+420212000001", "+420212000002"
QUERY, SET = b"AT+CCFC=0,2\r", b"AT+CCFC=0,3,"


def sent_since(emu: ModemEmulator, mark: int) -> bytes:
    """Every byte the controller sent the emulated modem since transcript entry ``mark``."""
    return b"".join(data for _, _, way, data in emu.transcript[mark:] if way == "<")


def queries_around_the_set(sent: bytes) -> tuple[int, int]:
    """(+CCFC queries before the one forwarding set, queries after it) in ``sent``."""
    assert sent.count(SET) == 1, sent
    before, after = sent.split(SET)
    return before.count(QUERY), after.count(QUERY)


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cfg = lab_config(reconcile={"drift_check_s": 5, "retry_failed_s": 5})
        self.clock = Clock()
        self.health = FakeHealth(self.cfg, self.clock.now)

    async def start(self) -> None:
        self.emu = ModemEmulator(pin="1234")
        port = await self.emu.start_tcp()
        self.link = ModemDevice(
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
            self.link,
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


async def test_a_switch_queries_at_most_once_before_and_once_after(bench: Bench) -> None:
    await bench.loop.tick()
    assert bench.network_forwards_to() == PRIMARY
    mark = len(bench.emu.transcript)
    bench.health.set("trunk-a", Status.DOWN, bench.clock.advance(1))
    await bench.loop.tick()  # primary -> secondary
    assert bench.network_forwards_to() == SECONDARY
    before, after = queries_around_the_set(sent_since(bench.emu, mark))
    assert before <= 1 and after == 1, (before, after)
    bench.health.set("trunk-a", Status.UP, bench.clock.advance(1))
    for _ in range(10):  # back once trunk-a has been up long enough (hysteresis)
        bench.clock.advance(30)
        mark = len(bench.emu.transcript)  # a tick that switches runs no drift check
        await bench.loop.tick()
        if bench.network_forwards_to() == PRIMARY:
            break
    assert bench.network_forwards_to() == PRIMARY
    assert queries_around_the_set(sent_since(bench.emu, mark)) == (0, 1)
    assert (await ControllerState(bench.coord).route()).route is Route.PRIMARY


async def test_after_a_failed_step_the_next_switch_reads_first(bench: Bench) -> None:
    await bench.loop.tick()
    bench.emu.faults.no_network = True
    bench.health.set("trunk-a", Status.DOWN, bench.clock.advance(1))
    await bench.loop.tick()  # fails: what the network holds is unknown now
    bench.emu.faults.no_network = False
    mark = len(bench.emu.transcript)
    bench.clock.advance(6)
    await bench.loop.tick()
    assert bench.network_forwards_to() == SECONDARY
    assert queries_around_the_set(sent_since(bench.emu, mark)) == (1, 1)
