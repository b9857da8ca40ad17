"""The emulator speaks TS 27.007 / 27.005 to a raw client (not through our driver)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from modem.emulator import ErrorFault, ModemEmulator
from modem.emulator.control import start_control
from modem.pdu import encode_submit

FINAL = re.compile(rb"\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*|> )(\r\n)?$")


class Raw:
    """A bare TCP client typing AT commands, as a terminal would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes, timeout: float = 3.0) -> str:
        self.writer.write(data)
        await self.writer.drain()
        buf = b""
        async with asyncio.timeout(timeout):
            while not FINAL.search(buf):
                chunk = await self.reader.read(4096)
                if not chunk:
                    break
                buf += chunk
        return buf.decode("utf-8", "replace")

    async def at(self, line: str) -> str:
        return await self.send(line.encode() + b"\r")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def raw(emulator: ModemEmulator, url: str) -> AsyncIterator[Raw]:
    port = int(url.rsplit(":", 1)[1])
    r = Raw(*await asyncio.open_connection("127.0.0.1", port))
    await r.at("ATE0")
    await r.at("AT+CMEE=1")
    yield r
    await r.close()


async def test_echo_is_on_by_default_as_v250_says(emulator: ModemEmulator, url: str) -> None:
    r = Raw(*await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1])))
    assert await r.at("AT") == "AT\r\r\nOK\r\n"
    assert (await r.at("ATE0")).endswith("\r\nOK\r\n")
    assert await r.at("AT") == "\r\nOK\r\n"
    await r.close()


async def test_ccfc_modes_follow_ts_27007(raw: Raw, emulator: ModemEmulator) -> None:
    assert "+CCFC: 0,7" in await raw.at("AT+CCFC=0,2")
    assert await raw.at('AT+CCFC=0,3,"+420212000001",145,1') == "\r\nOK\r\n"
    assert '+CCFC: 1,1,"+420212000001",145' in await raw.at("AT+CCFC=0,2")
    assert await raw.at("AT+CCFC=0,0,,,1") == "\r\nOK\r\n"  # disable: number kept, inactive
    assert "+CCFC: 0,7" in await raw.at("AT+CCFC=0,2")
    assert emulator.voice_forwarding(0).number == "+420212000001"
    assert await raw.at("AT+CCFC=0,1,,,1") == "\r\nOK\r\n"  # enable the kept number
    assert '+CCFC: 1,1,"+420212000001"' in await raw.at("AT+CCFC=0,2")
    await raw.at("AT+CCFC=0,4,,,1")  # erasure
    assert emulator.voice_forwarding(0).number is None
    assert "+CME ERROR: 3" in await raw.at("AT+CCFC=0,1,,,1")  # nothing to enable


async def test_ccfc_all_conditional_and_query_rules(raw: Raw, emulator: ModemEmulator) -> None:
    await raw.at('AT+CCFC=5,3,"+420601000111",145,1')
    for reason in (1, 2, 3):
        assert emulator.voice_forwarding(reason).active
    assert not emulator.voice_forwarding(0).active
    assert "+CME ERROR: 3" in await raw.at("AT+CCFC=4,2")  # 4/5 are not for queries
    await raw.at("AT+CCFC=4,4,,,1")
    assert not any(emulator.voice_forwarding(r).active for r in range(4))
    assert "+CME ERROR: 3" in await raw.at('AT+CCFC=0,3,"+420601000111",145,1,,,20')  # time: 2 only


async def test_class_7_covers_voice_data_fax(raw: Raw, emulator: ModemEmulator) -> None:
    await raw.at('AT+CCFC=0,3,"+420601000111",145')
    answer = await raw.at("AT+CCFC=0,2")
    assert answer.count("+CCFC: 1,") == 3
    emulator.faults.refuse_data_classes = True
    assert "+CME ERROR: 257" in await raw.at('AT+CCFC=0,3,"+420601000111",145')


async def test_mmi_codes_change_the_same_network_state(raw: Raw, emulator: ModemEmulator) -> None:
    assert (await raw.at("ATD**67*+420601000111#;")).endswith("OK\r\n")
    assert emulator.voice_forwarding(1).number == "+420601000111"
    assert '+CCFC: 1,1,"+420601000111",145' in await raw.at("ATD*#67#;")
    await raw.at("ATD##67#;")
    assert not emulator.voice_forwarding(1).active


async def test_cmee_modes(raw: Raw, emulator: ModemEmulator) -> None:
    emulator.faults.no_network = True
    assert "+CME ERROR: 30" in await raw.at("AT+CCFC=0,2")
    await raw.at("AT+CMEE=2")
    assert "+CME ERROR: no network service" in await raw.at("AT+CCFC=0,2")
    await raw.at("AT+CMEE=0")
    assert (await raw.at("AT+CCFC=0,2")).endswith("\r\nERROR\r\n")


async def test_pin_three_wrong_attempts_lock_the_sim() -> None:
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp()
    try:
        r = Raw(*await asyncio.open_connection("127.0.0.1", port))
        await r.at("ATE0")
        await r.at("AT+CMEE=1")
        assert "+CPIN: SIM PIN" in await r.at("AT+CPIN?")
        assert "+CME ERROR: 11" in await r.at("AT+CCFC=0,2")
        for _ in range(3):
            assert "+CME ERROR: 16" in await r.at('AT+CPIN="0000"')
        assert "+CPIN: SIM PUK" in await r.at("AT+CPIN?")
        assert "+CME ERROR: 12" in await r.at('AT+CPIN="1234"')
        await r.close()
    finally:
        await emu.stop()


async def test_sms_pdu_submit_with_prompt_and_length_check(
    raw: Raw, emulator: ModemEmulator
) -> None:
    part = encode_submit("+420601000111", "Ahoj", 1)[0]
    assert (await raw.at(f"AT+CMGS={part.tpdu_length}")).endswith("> ")
    assert "+CMGS: " in await raw.send(part.hex.encode() + b"\x1a")
    assert emulator.outbox[-1].to == "+420601000111" and emulator.outbox[-1].text == "Ahoj"
    await raw.at(f"AT+CMGS={part.tpdu_length + 1}")
    assert "+CMS ERROR: 304" in await raw.send(part.hex.encode() + b"\x1a")
    await raw.at(f"AT+CMGS={part.tpdu_length}")
    assert (await raw.send(b"0011\x1b")).endswith("\r\nOK\r\n")  # ESC cancels
    assert len(emulator.outbox) == 1


async def test_text_mode_body_ends_at_ctrl_z(raw: Raw, emulator: ModemEmulator) -> None:
    await raw.at("AT+CMGF=1")
    await raw.at('AT+CMGS="+420601000111"')
    answer = await raw.send(b"hello\x1aAT+CFUN=0\r")  # what an unsanitised body would do
    assert "+CMGS:" in answer
    assert emulator.outbox[-1].text == "hello"


async def test_incoming_sms_and_call_urcs(raw: Raw, emulator: ModemEmulator) -> None:
    await raw.at("AT+CLIP=1")
    emulator.deliver_sms("+420601000999", "OK")
    emulator.ring("+420601000999")
    answer = await raw.at("AT+CMGR=1")
    assert '+CMTI: "SM",1' in answer and "RING" in answer and '+CLIP: "+420601000999",145' in answer
    assert "+CMGR: 0,," in answer
    await raw.at("AT+CMGF=1")
    assert '"REC READ","+420601000999"' in await raw.at("AT+CMGR=1")
    await raw.at("AT+CMGD=1")
    assert "+CMS ERROR: 321" in await raw.at("AT+CMGR=1")


async def test_faults_error_on_nth_attempt_garbage_and_mid_response_urc(
    raw: Raw, emulator: ModemEmulator
) -> None:
    emulator.faults.errors = [ErrorFault("+CSQ", emulator.attempts["+CSQ"] + 2, 100)]
    assert "+CSQ: 20,99" in await raw.at("AT+CSQ")
    assert "+CME ERROR: 100" in await raw.at("AT+CSQ")
    emulator.faults.garbage = "\x00\xff#@"
    emulator.faults.mid_response_urc = "RING"
    answer = await raw.at("AT+CSQ")
    assert answer.index("+CSQ") < answer.index("RING") < answer.index("OK")


async def test_state_file_transcript_and_control_port(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    emu = ModemEmulator(state_file=state, transcript_file=tmp_path / "t.log")
    port = await emu.start_tcp()
    control = await start_control(emu, "127.0.0.1", 0)
    cport = control.sockets[0].getsockname()[1]
    try:
        r = Raw(*await asyncio.open_connection("127.0.0.1", port))
        await r.at('AT+CCFC=0,3,"+420212000001",145,1')
        assert json.loads(state.read_text())["forwarding"]["unconditional"]["number"] == (
            "+420212000001"
        )
        assert b"AT+CCFC=0,3" in (tmp_path / "t.log").read_bytes()
        cr, cw = await asyncio.open_connection("127.0.0.1", cport)

        async def ask(req: dict[str, Any]) -> dict[str, Any]:
            cw.write(json.dumps(req).encode() + b"\n")
            return dict(json.loads(await asyncio.wait_for(cr.readline(), 3)))

        drift = {"cmd": "set_forwarding", "reason": "unconditional", "number": "+420999000111"}
        assert (await ask(drift))["ok"] is True
        assert '"+420999000111"' in await r.at("AT+CCFC=0,2")
        assert (await ask({"cmd": "set_fault", "faults": {"no_network": True}}))["ok"] is True
        assert "ERROR" in await r.at("AT+CCFC=0,2")
        bad = await ask({"cmd": "set_fault", "faults": {"nonsense": 1}})
        assert bad["ok"] is False
        injected = {"cmd": "set_forwarding", "number": "+420;+CFUN=0"}
        assert (await ask(injected))["ok"] is False
        got = await ask({"cmd": "get_state"})
        assert got["state"]["forwarding"]["unconditional"]["number"] == "+420999000111"
        cw.close()
        await r.close()
    finally:
        control.close()
        await emu.stop()
