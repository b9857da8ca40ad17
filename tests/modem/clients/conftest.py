"""Real clients nobody on the project wrote, against ``ModemEmulator`` on a pseudo-terminal.

The emulator runs in the test's event loop and offers the modem on a pty (as a USB modem's
``/dev/ttyUSB2`` would be); the client opens the pty path like a serial port. Blocking clients
(python-gsmmodem) run in a thread, binaries (gammu, smsd) as processes with a timeout.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modem.emulator import ModemEmulator
from modem.emulator.profiles import PROFILES

LONG_CZECH = (
    "Příliš žluťoučký kůň úpěl ďábelské ódy. Hotline přesměrována na záložní linku, "
    "technik v pohotovosti byl upozorněn. Příliš žluťoučký kůň úpěl ďábelské ódy znovu."
)
"""A long Unicode text: UCS-2, more than 70 characters, so a concatenated SMS."""


def need(binary: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        pytest.skip(
            f"{binary} is not installed (scripts/apt-packages.txt lists it; setup installs it)"
        )
    return path


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
