"""Modem probe through the real driver (modem.driver.Modem) and the project's modem emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from controller.config import ComponentSettings
from health.model import Status
from health.monitor import HealthMonitor
from health.probes.modem import HELD_BY_LEADER, ModemProbe
from health.specs import ModemProbeSpec
from modem.device import ModemDevice

emulator_mod = pytest.importorskip("modem.emulator")
driver_mod = pytest.importorskip("modem.driver")


@pytest.fixture
async def modem() -> AsyncIterator[tuple[Any, Any]]:
    emu = emulator_mod.ModemEmulator()
    port = await emu.start_tcp()
    drv = await driver_mod.Modem.open(
        f"socket://127.0.0.1:{port}",
        command_timeout=2.0,
        network_timeout=5.0,
        retry_delays=(0.05,),
        reconnect_delays=(0.1,),
    )
    yield emu, drv
    await drv.close()
    await emu.stop()


async def test_modem_states_through_driver(modem: tuple[Any, Any]) -> None:
    emu, drv = modem
    probe = ModemProbe(ModemProbeSpec(type="modem", min_signal_dbm=-105), drv)
    emu.network.registration, emu.network.rssi = 1, 20  # home, -73 dBm
    can = "; can change forwarding (+CCFC)"
    assert (await probe.run(5.0)).reason == "registered home EMU-NET, -73 dBm" + can
    emu.network.rssi = 2  # -109 dBm
    assert (await probe.run(5.0)).reason == "signal -109 dBm below -105 dBm" + can
    emu.network.registration, emu.network.rssi = 0, 20
    result = await probe.run(5.0)
    assert (result.ok, result.reason) == (False, "not registered; cannot change forwarding now")
    emu.network.registration = 5
    assert (await probe.run(5.0)).ok
    strict = ModemProbe(ModemProbeSpec(type="modem", allow_roaming=False), drv)
    assert (await strict.run(5.0)).reason == "roaming not allowed" + can


async def test_monitor_with_driver(modem: tuple[Any, Any]) -> None:
    emu, drv = modem
    settings = ComponentSettings.model_validate(
        {"kind": "modem", "probes": [{"type": "modem"}], "interval_s": 5, "timeout_s": 5}
    )
    monitor = HealthMonitor({"modem": settings}, modem=drv)
    try:
        for _ in range(settings.rise):
            snap = await monitor.probe_now()
        assert snap.get("modem").status is Status.UP
        emu.network.registration = 3  # denied
        for _ in range(settings.fall):
            snap = await monitor.probe_now()
        assert (snap.get("modem").status, snap.get("modem").reason) == (
            Status.DOWN,
            "not registered; cannot change forwarding now",
        )
    finally:
        await monitor.stop()


# --- the shared device: gate, busy lock, registration URCs (issue #13 / #17) --------------------
def _settings(interval: float = 60, fall: int = 1) -> ComponentSettings:
    return ComponentSettings.model_validate(
        {"kind": "modem", "probes": [{"type": "modem"}], "interval_s": interval,
         "timeout_s": 1, "rise": 1, "fall": fall}
    )  # fmt: skip


async def test_follower_modem_is_unknown_never_down() -> None:
    emu = emulator_mod.ModemEmulator()
    port = await emu.start_tcp()
    leader = False
    device = ModemDevice(f"socket://127.0.0.1:{port}", may_open=lambda: leader)
    monitor = HealthMonitor({"modem": _settings(fall=1)}, modem=device)
    try:
        for _ in range(3):
            snap = await monitor.probe_now()
        state = snap.get("modem")
        assert (state.status, state.reason) == (Status.UNKNOWN, HELD_BY_LEADER)
        assert emu.connections == 0, "a follower never opens the port"
        leader = True  # this node won the election: the next sample is a real verdict
        state = (await monitor.probe_now()).get("modem")
        assert state.status is Status.UP and emu.connections == 1
        leader = False  # deposed: unknown again at once, not down
        state = (await monitor.probe_now()).get("modem")
        assert (state.status, state.reason) == (Status.UNKNOWN, HELD_BY_LEADER)
    finally:
        await monitor.stop()
        await device.close()
        await emu.stop()


async def test_busy_modem_keeps_its_last_verdict() -> None:
    emu = emulator_mod.ModemEmulator()
    emu.faults.latency = 0.05
    port = await emu.start_tcp()
    device = ModemDevice(f"socket://127.0.0.1:{port}", network_timeout=10, retry_delays=(0.05,))
    monitor = HealthMonitor({"modem": _settings(fall=1)}, modem=device)
    try:
        assert (await monitor.probe_now()).get("modem").status is Status.UP
        emu.faults.latency_per_command["+CCFC"] = 1.5  # a slow network: the change takes 3 s
        change = asyncio.ensure_future(device.write_forwarding("+420212000001"))
        for _ in range(100):
            if device.busy():
                break
            await asyncio.sleep(0.02)
        assert device.busy()
        snap = await monitor.probe_now()  # probe timeout 1 s < the 1.5 s the lock is held
        state = snap.get("modem")
        assert state.status is Status.UP and "timeout" not in state.reason
        assert monitor.state("modem").samples == 2
        await change
        assert emu.voice_forwarding(0).number == "+420212000001"
    finally:
        await monitor.stop()
        await device.close()
        await emu.stop()


async def test_registration_lost_urc_is_probed_at_once() -> None:
    emu = emulator_mod.ModemEmulator()
    port = await emu.start_tcp()
    device = ModemDevice(f"socket://127.0.0.1:{port}", retry_delays=(0.05,))
    monitor = HealthMonitor({"modem": _settings(interval=60, fall=1)}, modem=device)
    changes = monitor.subscribe()
    try:
        await monitor.start()
        first = await asyncio.wait_for(changes.get(), 10)
        assert first.status is Status.UP
        emu.set_registration(3)  # +CREG: 3 (denied) as a URC; the next interval is 60 s away
        lost = await asyncio.wait_for(changes.get(), 10)
        assert lost.status is Status.DOWN and lost.reason.startswith("not registered")
        assert device.last_registration == 3
    finally:
        await monitor.stop()
        await device.close()
        await emu.stop()
