"""Real clients nobody on the project wrote, against ``ModemEmulator`` on a pseudo-terminal.

The emulator runs in the test's event loop and offers the modem on a pty (as a USB modem's
``/dev/ttyUSB2`` would be); the client opens the pty path like a serial port. Blocking clients
(python-gsmmodem) run in a thread, binaries (gammu, smsd) as processes with a timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modem.emulator import ModemEmulator
from modem.emulator.profiles import PROFILES


@pytest.fixture(params=sorted(PROFILES))
async def pty_modem(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ModemEmulator, Path]]:
    emu = ModemEmulator(profile=PROFILES[request.param], transcript_file=tmp_path / "transcript")
    emu.faults.latency = 0.01
    link = tmp_path / "ttyMODEM"
    await emu.start_pty(link)
    yield emu, link
    await emu.stop()
