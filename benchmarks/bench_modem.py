"""Modem figures: parser throughput, verified forwarding change, SMS, reconnect, and a route
switch through the actuator and the shared device, its +CCFC queries counted (127.0.0.1 only).

    python3 benchmarks/bench_modem.py

Runs the driver against the in-process emulator over socket:// (and the parser alone); every loop is
bounded by a count. Prints one line per figure, the last ones per modem profile (fast, then at the
profile's realistic network time: 1-3 s per operation, so those take about a minute).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.config import Route
from controller.config.actuators import ModemActuatorSettings
from controller.loop.actuators.base import RouteTarget, run_step
from controller.loop.actuators.modem import ModemActuator
from modem.at import AtProtocol
from modem.commands import spec_for
from modem.device import ModemDevice
from modem.driver import Modem
from modem.emulator import ModemEmulator
from modem.emulator.profiles import PROFILES, Profile

CZECH_300 = ("Příliš žluťoučký kůň úpěl ďábelské ódy; hotline výpadek — volejte technika! " * 5)[
    :300
]
ANSWER = b'\r\n+CCFC: 1,1,"+420212000001",145\r\n\r\nRING\r\n\r\nOK\r\n'


def bench_parser(rounds: int = 20000) -> None:
    start = time.perf_counter()
    for _ in range(rounds):
        proto = AtProtocol()
        proto.send_command("AT+CCFC=0,2", spec_for("AT+CCFC=0,2"))
        proto.receive_data(ANSWER)
        while proto.next_event() is not None:
            pass
    elapsed = time.perf_counter() - start
    mb = rounds * len(ANSWER) / elapsed / 1e6
    print(f"parser: {rounds / elapsed:,.0f} responses/s ({mb:.1f} MB/s), {rounds} rounds")


async def timed(coro_factory, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await coro_factory()
        out.append((time.perf_counter() - t) * 1000)
    return out


def show(name: str, ms: list[float]) -> None:
    p95 = sorted(ms)[max(0, math.ceil(len(ms) * 0.95) - 1)]  # nearest rank
    print(f"{name}: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, n={len(ms)}")


async def bench_driver(latency: float) -> None:
    emu = ModemEmulator()
    emu.faults.latency = latency
    port = await emu.start_tcp()
    url = f"socket://127.0.0.1:{port}"
    t = time.perf_counter()
    modem = await Modem.open(url, reconnect_delays=(0.05, 0.1, 0.2))
    print(f"[latency {latency * 1000:.0f} ms] open+init: {(time.perf_counter() - t) * 1000:.1f} ms")
    numbers = ["+420212000001", "+420601000111"]
    i = 0

    async def switch() -> None:
        nonlocal i
        i += 1
        await modem.set_forwarding(numbers[i % 2])

    show(
        f"[latency {latency * 1000:.0f} ms] set_forwarding (+CSCS, +CCFC, read-back)",
        await timed(switch, 30),
    )
    show(f"[latency {latency * 1000:.0f} ms] get_forwarding", await timed(modem.get_forwarding, 30))
    show(
        f"[latency {latency * 1000:.0f} ms] send_sms 300 Czech chars (5 parts)",
        await timed(lambda: modem.send_sms("+420601000111", CZECH_300), 10),
    )
    recon = []
    for _ in range(5):
        emu.drop_connections()
        t = time.perf_counter()
        await modem.get_forwarding()
        recon.append((time.perf_counter() - t) * 1000)
    show(f"[latency {latency * 1000:.0f} ms] dropped port → reconnect, re-init, query", recon)
    await modem.close()
    await emu.stop()


async def bench_switch(latency: float, rounds: int = 20) -> None:
    """A route switch as the loop does it (apply, then verify) through ``ModemDevice``."""
    emu = ModemEmulator()
    emu.faults.latency = latency
    port = await emu.start_tcp()
    device = ModemDevice(f"socket://127.0.0.1:{port}", command_timeout=5, network_timeout=5)
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), device)
    await act.observe()  # the loop's start-up read
    targets = [
        RouteTarget(Route.PRIMARY, "+420212000001", "bench", 1),
        RouteTarget(Route.SECONDARY, "+420212000002", "bench", 1),
    ]
    mark = len(emu.transcript)
    i = 0

    async def switch() -> None:
        nonlocal i
        i += 1
        out = await run_step(act, targets[i % 2])
        assert out.ok, out

    ms = await timed(switch, rounds)
    sent = b"".join(data for _, _, way, data in emu.transcript[mark:] if way == "<")
    queries = sent.count(b"AT+CCFC=0,2\r") / rounds
    show(
        f"[latency {latency * 1000:.0f} ms] switch (apply+verify), {queries:g} +CCFC query/switch",
        ms,
    )
    await device.close()
    await emu.stop()


async def bench_profile(profile: Profile, latency: float, rounds: int) -> None:
    """A verified forwarding change and a status query against one modem profile."""
    emu = ModemEmulator(profile=profile)
    emu.faults.latency = latency
    port = await emu.start_tcp()
    modem = await Modem.open(f"socket://127.0.0.1:{port}", network_timeout=60)
    numbers = ["+420212000001", "+420601000111"]
    i = 0

    async def change() -> None:
        nonlocal i
        i += 1
        await modem.set_forwarding(numbers[i % 2])

    label = f"[{profile.name}, {latency * 1000:.0f} ms/op]"
    show(f"{label} set_forwarding verified", await timed(change, rounds))
    show(f"{label} status", await timed(modem.status, rounds))
    await modem.close()
    await emu.stop()


async def bench_profiles(fast: bool) -> None:
    """Every profile at a fast latency, or at its realistic one (the vendor's network operation
    time, see modem/emulator/profiles.py)."""
    for profile in PROFILES.values():
        await bench_profile(profile, 0.02 if fast else profile.latency_s, 10 if fast else 2)


def main() -> None:
    bench_parser()
    asyncio.run(bench_driver(0.0))
    asyncio.run(bench_driver(0.05))
    asyncio.run(bench_switch(0.05))
    # A real network takes 0.5-5 s per +CCFC operation: the figure that bounds a takeover.
    asyncio.run(bench_switch(1.0, rounds=4))
    asyncio.run(bench_profiles(fast=True))
    asyncio.run(bench_profiles(fast=False))


if __name__ == "__main__":
    main()
