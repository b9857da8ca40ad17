"""Modem probe through the real driver (modem.driver.Modem) and the project's modem emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from controller.config import ComponentSettings
from health.model import Status
from health.monitor import HealthMonitor
from health.probes.modem import ModemProbe
from health.specs import ModemProbeSpec

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
    assert (await probe.run(5.0)).reason == "registered home EMU-NET, -73 dBm"
    emu.network.rssi = 2  # -109 dBm
    assert (await probe.run(5.0)).reason == "signal -109 dBm below -105 dBm"
    emu.network.registration, emu.network.rssi = 0, 20
    result = await probe.run(5.0)
    assert (result.ok, result.reason) == (False, "not registered")
    emu.network.registration = 5
    assert (await probe.run(5.0)).ok
    strict = ModemProbe(ModemProbeSpec(type="modem", allow_roaming=False), drv)
    assert (await strict.run(5.0)).reason == "roaming not allowed"


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
            "not registered",
        )
    finally:
        await monitor.stop()
