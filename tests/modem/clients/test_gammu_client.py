"""Debian's ``gammu`` (connection ``at``) as the client: identify, a long Unicode SMS, USSD and
call divert get / set. gammu probes with its own start-up sequence (``AT+CSCS=?``, ``AT+CSCA?``,
``AT+CCFC`` with the sub-address fields...), which the emulator answers as TS 27.007 says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from modem.emulator import ModemEmulator
from tests.modem.clients.support import LONG_CZECH, need


async def gammu(rc: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        need("gammu"), "-c", str(rc), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 0, f"gammu {' '.join(args)} failed ({proc.returncode}):\n{text}"
    return text


@pytest.mark.parametrize("pty_modem", ["standard", "quectel", "huawei"], indirect=True)
async def test_identify_sms_ussd_divert(
    pty_modem: tuple[ModemEmulator, Path], tmp_path: Path
) -> None:
    emu, link = pty_modem
    if emu.profile.unknown_command != "ERROR":
        pytest.skip(
            f"gammu stops with 'Unknown error' at the first {emu.profile.unknown_command!r} "
            "(its start-up probes AT+CPROT=?, AT+MODE=2); not a verdict on the emulator"
        )
    rc = tmp_path / "gammurc"
    rc.write_text(f"[gammu]\ndevice = {link}\nconnection = at\n")
    ident = await gammu(rc, "identify")
    assert emu.profile.manufacturer in ident and "356938035643809" in ident
    sent = await gammu(rc, "sendsms", "TEXT", "+420601000111", "-unicode", "-autolen", "400",
                       "-text", LONG_CZECH)  # fmt: skip
    assert "message reference=3" in sent
    assert (emu.outbox[-1].to, emu.outbox[-1].text, emu.outbox[-1].parts) == (
        "+420601000111", LONG_CZECH, 3,
    )  # fmt: skip
    if emu.profile.name == "standard":  # gammu listens ~10 s for further USSD: once is enough
        ussd = await gammu(rc, "getussd", "*#21#")
        assert "Call forwarding not active" in ussd
    await gammu(rc, "divert", "set", "all", "voice", "+420212000001")
    assert emu.voice_forwarding(0).number == "+420212000001"
    got = await gammu(rc, "divert", "get", "all", "voice")
    shown = "420212000001" if emu.profile.ccfc_number_without_plus else "+420212000001"
    assert f"Number               : {shown}\n" in got  # gammu shows what the modem reports
