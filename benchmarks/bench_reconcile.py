"""Reconcile-loop figures (127.0.0.1 only; every loop bounded by a count):

    python3 benchmarks/bench_reconcile.py

- steady tick: one loop tick with nothing to do (snapshot, decide, state read from SQLite);
- switch: one verified route change through the real modem driver against the in-process
  emulator (set, +CCFC read-back, state and events persisted), emulator network latency 50 ms;
- manual action: ControllerService.failover (alternating routes) → verified route, with the
  loop ticking every 50 ms;
- event store: append and list.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore, NewEvent
from controller.loop.reconcile import Reconciler
from controller.service.impl import ControllerServiceImpl
from health.model import Status
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
from tests.controller.helpers import T0, Clock, FakeHealth, lab_config


def _ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20) if len(values) >= 2 else values * 2
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {q[-1] * 1000:.2f} ms"


async def _rig(tmp: Path, interval: float = 1.0) -> tuple[Reconciler, FakeHealth, Clock, object]:
    cfg = lab_config(reconcile={"interval_s": interval, "drift_check_s": 3600, "action_wait_s": 10})
    clock = Clock(T0)  # a pinned instant: the same run whatever today's date
    health = FakeHealth(cfg, clock.now)
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp()
    link = ModemDevice(
        f"socket://127.0.0.1:{port}", pin="1234", command_timeout=5, network_timeout=5
    )
    coord = LocalCoordinator(tmp / "c.db", "bench")
    await coord.start()
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), link)
    loop = Reconciler(cfg, health, coord, EventStore(tmp / "e.db"), [act], clock=clock)
    await loop.start_up()
    await loop.tick()
    return loop, health, clock, (emu, link, coord)


async def bench_ticks_and_switches(tmp: Path, ticks: int = 2000, switches: int = 20) -> None:
    loop, health, clock, (emu, link, coord) = await _rig(tmp)  # type: ignore[misc]
    start = time.perf_counter()
    for _ in range(ticks):
        clock.advance(0.5)
        await loop.tick()
    per = (time.perf_counter() - start) / ticks
    print(f"steady tick: {per * 1e6:.0f} µs per tick ({ticks} ticks, nothing to change)")
    took: list[float] = []
    for i in range(switches):
        down = "trunk-a" if i % 2 == 0 else "trunk-b"
        up = "trunk-b" if down == "trunk-a" else "trunk-a"
        # Past the flap window, so the flap guard never holds a switch back.
        health.set(up, Status.UP, clock.advance(loop.cfg.failover.flap_window_s + 1))
        health.set(down, Status.DOWN, clock.now)
        before = sum(loop.counters.switches.values())
        t0 = time.perf_counter()
        await loop.tick()
        took.append(time.perf_counter() - t0)
        assert sum(loop.counters.switches.values()) == before + 1, loop.view.decision
    rec = await loop.state.route()
    assert rec.verified and not rec.failed, "switches did not verify"
    print(
        f"verified switch (driver + emulator, 50 ms network latency): {_ms(took)} "
        f"({switches} switches)"
    )
    await link.close()
    await coord.stop()
    await emu.stop()


async def bench_manual(tmp: Path, rounds: int = 10) -> None:
    loop, health, _clock, (emu, link, coord) = await _rig(tmp, interval=0.05)  # type: ignore[misc]
    svc = ControllerServiceImpl(loop.cfg, loop, health, coord, loop.events)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    took: list[float] = []
    for i in range(rounds):
        t0 = time.perf_counter()
        to = Route.SECONDARY if i % 2 == 0 else Route.PRIMARY
        res = await svc.failover(to, "bench", 60, False, "bench")
        took.append(time.perf_counter() - t0)
        assert res.verified, res
    print(f"manual failover to verified (loop tick 50 ms): {_ms(took)} ({rounds} actions)")
    stop.set()
    await task
    await link.close()
    await coord.stop()
    await emu.stop()


def bench_events(tmp: Path, rounds: int = 2000) -> None:
    store = EventStore(tmp / "events-bench.db")
    t0 = time.perf_counter()
    for i in range(rounds):
        store.append(NewEvent(kind="actuation", reason=f"step {i}", outcome="ok"))
    append = (time.perf_counter() - t0) / rounds
    t0 = time.perf_counter()
    for _ in range(100):
        store.list(limit=100)
    listing = (time.perf_counter() - t0) / 100
    print(
        f"event store: append {append * 1e6:.0f} µs (durable, synchronous=FULL), "
        f"list 100 {listing * 1e3:.2f} ms"
    )
    store.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await bench_ticks_and_switches(Path(tmp) / "a")
        await bench_manual(Path(tmp) / "b")
        bench_events(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
