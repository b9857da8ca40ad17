"""Fixtures: an in-process emulator on 127.0.0.1 and a driver connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from modem.driver import Modem
from modem.emulator import ModemEmulator

FAST = {"retry_delays": (0.05, 0.05, 0.05), "reconnect_delays": (0.1, 0.2, 0.4)}


@pytest.fixture
async def emulator() -> AsyncIterator[ModemEmulator]:
    emu = ModemEmulator()
    emu.faults.latency = 0.01
    yield emu
    await emu.stop()


@pytest.fixture
async def url(emulator: ModemEmulator) -> str:
    port = await emulator.start_tcp()
    return f"socket://127.0.0.1:{port}"


@pytest.fixture
async def modem(url: str) -> AsyncIterator[Modem]:
    m = await Modem.open(url, command_timeout=2.0, network_timeout=5.0, **FAST)  # type: ignore[arg-type]
    yield m
    await m.close()
