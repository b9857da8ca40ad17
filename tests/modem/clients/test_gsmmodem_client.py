"""python-gsmmodem-new (``gsmmodem.modem.GsmModem``), the most used Python GSM library, as the
client: its ``connect()`` start-up, a long UCS-2 SMS, an incoming SMS read and deleted, USSD and
call forwarding with plain ``AT+CCFC``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from gsmmodem.exceptions import CommandError
from gsmmodem.modem import GsmModem, ReceivedSms

from modem.emulator import ModemEmulator
from tests.modem.clients.support import LONG_CZECH


async def test_connect_sms_ussd_and_forwarding(pty_modem: tuple[ModemEmulator, Path]) -> None:
    emu, link = pty_modem
    loop = asyncio.get_running_loop()
    received: list[ReceivedSms] = []
    got_sms = threading.Event()

    def on_sms(sms: ReceivedSms) -> None:
        received.append(sms)
        got_sms.set()

    def client() -> dict[str, object]:
        modem = GsmModem(str(link), 115200, smsReceivedCallbackFunc=on_sms)
        modem.connect()
        try:
            out: dict[str, object] = {
                "identity": (modem.manufacturer, modem.model, modem.imei),
                "smsc": modem.smsc,
                "signal": modem.signalStrength,
            }
            sent = modem.sendSms("+420601000111", LONG_CZECH)
            out["sent"] = sent.status
            loop.call_soon_threadsafe(emu.deliver_sms, "+420601000999", "Ahoj, příchozí")
            out["incoming"] = got_sms.wait(10)
            modem.write('AT+CSCS="GSM"')
            out["ussd"] = modem.sendUssd("*#21#").message
            if emu.profile.ccfc:
                modem.write('AT+CCFC=0,3,"+420212000001",145,1')
                out["ccfc"] = modem.write("AT+CCFC=0,2")
            else:  # no +CCFC on this modem: the TS 22.030 code through the dial command
                with pytest.raises(CommandError):
                    modem.write('AT+CCFC=0,3,"+420212000001",145,1')
                modem.write("ATD**21*+420212000001#;")
                out["ccfc"] = modem.write("ATD*#21#;")
            return out
        finally:
            modem.close()

    out = await asyncio.wait_for(asyncio.to_thread(client), 60)
    assert out["identity"] == (emu.profile.manufacturer, emu.profile.model, "356938035643809")
    assert out["smsc"] == emu.network.smsc
    assert out["signal"] == emu.network.rssi
    assert emu.outbox[-1].text == LONG_CZECH and emu.outbox[-1].parts == 3
    assert out["incoming"] and received[0].text == "Ahoj, příchozí"
    assert received[0].number == "+420601000999"
    assert emu.network.inbox == {}, "the client deleted the message it read"
    assert out["ussd"] == "Call forwarding not active"
    number = "420212000001" if emu.profile.ccfc_number_without_plus else "+420212000001"
    assert f'+CCFC: 1,1,"{number}",145' in out["ccfc"]
    assert emu.voice_forwarding(0).number == "+420212000001"
