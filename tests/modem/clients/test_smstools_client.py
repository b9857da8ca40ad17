"""Debian's ``smstools`` (``smsd``) as the client, in the foreground with a temporary config: a
message file from the outgoing directory is sent, an incoming SMS lands in the incoming one."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from modem.emulator import ModemEmulator
from tests.modem.clients.support import need

CONFIG = """devices = GSM1
outgoing = {d}/outgoing
checked = {d}/checked
incoming = {d}/incoming
failed = {d}/failed
sent = {d}/sent
logfile = {d}/smsd.log
loglevel = 7
infofile = {d}/smsd.working
pidfile = {d}/smsd.pid
decode_unicode_text = yes
receive_before_send = no

[GSM1]
device = {link}
incoming = yes
baudrate = 115200
check_memory_method = 1
"""


async def wait_for_file(folder: Path, seconds: float) -> list[Path]:
    for _ in range(int(seconds / 0.2)):
        found = sorted(folder.iterdir())
        if found:
            return found
        await asyncio.sleep(0.2)
    return []


async def test_smsd_sends_a_file_and_receives_one(
    pty_modem: tuple[ModemEmulator, Path], tmp_path: Path
) -> None:
    emu, link = pty_modem
    smsd = need("smsd")
    spool = tmp_path / "spool"
    for sub in ("outgoing", "checked", "incoming", "failed", "sent"):
        (spool / sub).mkdir(parents=True)
    conf = tmp_path / "smsd.conf"
    conf.write_text(CONFIG.format(d=spool, link=link))
    (spool / "outgoing" / "alert").write_text(
        "To: 420601000111\nAlphabet: UTF-8\n\nHotline přesměrována", encoding="utf-8"
    )
    proc = await asyncio.create_subprocess_exec(
        smsd, "-t", "-c", str(conf), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        sent = await wait_for_file(spool / "sent", 30)
        assert sent, (spool / "smsd.log").read_text(errors="replace")[-2000:]
        assert emu.outbox[-1].to == "+420601000111"
        assert emu.outbox[-1].text == "Hotline přesměrována"
        emu.deliver_sms("+420601000999", "Potvrzuji, beru to")
        # smsd reads the message, writes the file, then deletes the message from the SIM: once
        # the SIM is empty the file is complete (reading it as soon as it appears can race).
        for _ in range(400):
            if not emu.network.inbox and any((spool / "incoming").iterdir()):
                break
            await asyncio.sleep(0.1)
        incoming = sorted((spool / "incoming").iterdir())
        assert incoming, (spool / "smsd.log").read_text(errors="replace")[-2000:]
        assert emu.network.inbox == {}, "smsd deletes what it read"
        text = incoming[0].read_text(encoding="utf-8", errors="replace")
        assert "From: 420601000999" in text and text.rstrip().endswith("Potvrzuji, beru to")
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
