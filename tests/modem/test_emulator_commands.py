"""Commands other clients send at start-up, typed by a raw client (TS 27.007 / 27.005, V.250)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from modem.emulator import ModemEmulator
from modem.emulator.profiles import HUAWEI, SIMCOM
from tests.modem.test_emulator import Raw


async def unsolicited(r: Raw, seconds: float) -> str:
    """What the modem sends by itself within ``seconds`` (URCs), nothing typed."""
    buf = b""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    for _ in range(1000):
        left = end - loop.time()
        if left <= 0:
            break
        try:
            buf += await asyncio.wait_for(r.reader.read(4096), left)
        except TimeoutError:
            break
    return buf.decode("utf-8", "replace")


async def _raw(emu: ModemEmulator) -> Raw:
    port = await emu.start_tcp()
    r = Raw(*await asyncio.open_connection("127.0.0.1", port))
    await r.at("ATE0")
    return r


@pytest.fixture
async def raw(emulator: ModemEmulator) -> AsyncIterator[Raw]:
    r = await _raw(emulator)
    yield r
    await r.close()


async def test_a_line_of_several_commands_answers_once(raw: Raw) -> None:
    assert await raw.at("AT+CMEE=1;+CREG=2") == "\r\nOK\r\n"  # smsd's pre-init line
    assert await raw.at("ATE0V1Q0&D2") == "\r\nOK\r\n"
    assert (
        await raw.at("AT+CREG?;+CSQ")
        == '\r\n+CREG: 2,1,"0FA1","0001A2B3",7\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n'
    )
    assert (
        await raw.at("AT+CSQ;+CFOO;+CGMI") == "\r\n+CSQ: 20,99\r\n\r\nERROR\r\n"
    )  # stops at the error
    assert await raw.at("ATS7=45S7?") == "\r\n045\r\n\r\nOK\r\n"
    assert await raw.at("ATS7=300") == "\r\n+CME ERROR: 3\r\n"


async def test_sms_service_centre_and_stores(raw: Raw) -> None:
    assert await raw.at("AT+CSCA?") == '\r\n+CSCA: "+420603052000",145\r\n\r\nOK\r\n'
    assert await raw.at('AT+CSCA="+420603052001"') == "\r\nOK\r\n"
    await raw.at('AT+CSCS="UCS2"')
    assert "002B003400320030003600300033003000350032003000300031" in await raw.at("AT+CSCA?")
    await raw.at('AT+CSCS="GSM"')
    assert await raw.at("AT+CPMS?") == '\r\n+CPMS: "SM",0,30,"SM",0,30,"SM",0,30\r\n\r\nOK\r\n'
    assert await raw.at('AT+CPMS="SM","SM","SM"') == "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"
    assert await raw.at("AT+CSMS=0") == "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"
    assert await raw.at("AT+CMGF=?") == "\r\n+CMGF: (0,1)\r\n\r\nOK\r\n"


async def test_list_read_delete_in_text_mode(emulator: ModemEmulator, raw: Raw) -> None:
    await raw.at("AT+CNMI=2,0")  # no indications: the message is only stored
    emulator.deliver_sms("+420601000999", "Ahoj")
    await raw.at("AT+CMGF=1")
    listed = await raw.at('AT+CMGL="REC UNREAD"')
    assert '+CMGL: 1,"REC UNREAD","+420601000999",,"' in listed and "\r\nAhoj\r\n" in listed
    assert await raw.at('AT+CMGL="REC UNREAD"') == "\r\nOK\r\n"  # listing marked it read
    assert '+CMGR: "REC READ","+420601000999"' in await raw.at("AT+CMGR=1")
    assert await raw.at("AT+CMGD=1,1") == "\r\nOK\r\n"  # delflag 1: every read message
    assert emulator.network.inbox == {}
    assert await raw.at("AT+CMGR=1") == "\r\n+CMS ERROR: 321\r\n"


async def test_identity_and_sim_commands(raw: Raw) -> None:
    assert await raw.at("AT+CIMI") == "\r\n230019876543210\r\n\r\nOK\r\n"
    assert await raw.at("AT+CCID") == "\r\n+CCID: 8942001234567890123\r\n\r\nOK\r\n"
    assert await raw.at("AT+CNUM") == '\r\n+CNUM: "","+420601123456",145\r\n\r\nOK\r\n'
    assert await raw.at("AT+CLCC") == "\r\nOK\r\n"
    assert "\r\nAT+CCFC\r\n" in await raw.at("AT+CLAC")
    assert '+COPS: (2,"EMU-NET"' in await raw.at("AT+COPS=?")
    ati = "\r\nEMU Networks HotlineSim 1\r\n\r\nRevision: 1.0.0\r\n\r\nOK\r\n"
    assert await raw.at("ATI") == ati


async def test_registration_changes_arrive_as_urcs(emulator: ModemEmulator, raw: Raw) -> None:
    await raw.at("AT+CREG=1")
    emulator.set_registration(3)
    assert await unsolicited(raw, 0.5) == "\r\n+CREG: 3\r\n"
    emulator.set_registration(3)  # no change, no URC
    assert await unsolicited(raw, 0.3) == ""


async def test_huawei_refuses_what_it_does_not_know_in_its_own_words() -> None:
    emu = ModemEmulator(profile=HUAWEI)
    r = await _raw(emu)
    try:
        r.writer.write(b"AT+CCFC=0,2\r")  # Raw's reader knows only the standard finals
        assert await unsolicited(r, 0.5) == "\r\nCOMMAND NOT SUPPORT\r\n"
        assert "\r\nAT^USSDMODE\r\n" in await r.at("AT+CLAC")
        await r.at('AT+CUSD=1,"AA912C3602",15')  # *#21# packed as 7-bit septets
        urc = await unsolicited(r, 0.5)
        assert urc.startswith('\r\n+CUSD: 0,"') and "Call forwarding" not in urc  # packed too
        emu.signal = 12  # Huawei reports a signal change by itself
        assert await unsolicited(r, 0.3) == "\r\n^RSSI: 12\r\n"
        await r.at("AT^USSDMODE=0")
        await r.at('AT+CUSD=1,"*#21#",15')
        assert "Call forwarding not active" in await unsolicited(r, 0.5)
    finally:
        await r.close()
        await emu.stop()


async def test_simcom_reads_only_reason_and_mode_for_an_erasure() -> None:
    emu = ModemEmulator(profile=SIMCOM)
    emu.faults.latency = 0.01
    emu.network.apply_ccfc(0, 3, "+420212000001", 145, 7, None)
    r = await _raw(emu)
    try:
        assert await r.at("AT+CCFC=0,4,,,1") == "\r\nOK\r\n"  # class 1 given, not read
        assert not any(fw.active for fw in emu.forwarding.values())  # every class erased
    finally:
        await r.close()
        await emu.stop()
