"""SMS through the real driver and the project's modem emulator; ACK replies through the modem."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controller.notifier import build_notifier, gsm7
from controller.notifier.service import Notifier
from modem.driver import IncomingCall, IncomingSms, Modem
from modem.emulator import ModemEmulator
from tests.notifier.helpers import Clock, lab_config, signal


@pytest.fixture
async def modem() -> AsyncIterator[tuple[ModemEmulator, Modem]]:
    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    m = await Modem.open(f"socket://127.0.0.1:{port}", command_timeout=5, network_timeout=10)
    try:
        yield emu, m
    finally:
        await m.close()
        await emu.stop()


def notifier(m: Modem, tmp_path: Path, **settings: Any) -> Notifier:
    # the fixture's clock: a Wednesday with alice on call
    return build_notifier(lab_config(**settings), modem=m, state_dir=tmp_path, clock=Clock())


async def test_open_sms_reaches_the_network_decoded(
    modem: tuple[ModemEmulator, Modem], tmp_path: Path
) -> None:
    emu, m = modem
    n = notifier(m, tmp_path)
    await n.signal(signal())
    assert await n.run_once() == 1
    (sms,) = emu.outbox
    inc = n.store.incidents()[0]
    assert sms.to == "+420777000001"
    assert sms.parts == 1 and sms.encoding != "ucs2"
    assert sms.text.startswith(f"HOTLINE CRITICAL #{inc.id}: DOWN: primary SIP trunk")
    assert sms.text.endswith(f"Reply ACK {inc.code}")
    row = n.store.outbox()[0]
    assert row.state == "sent" and row.provider_id == f"mr:{sms.references[0]}"
    n.store.close()


async def test_czech_text_goes_as_ucs2(modem: tuple[ModemEmulator, Modem], tmp_path: Path) -> None:
    emu, m = modem
    n = notifier(m, tmp_path)
    summary = "ústředna Žižkov nedostupná, hovory přesměrovány"
    await n.signal(signal(key="quorum", summary=summary))
    await n.run_once()
    (sms,) = emu.outbox
    assert not gsm7.is_gsm7(sms.text) and summary[:20] in sms.text
    assert sms.text.endswith("Reply ACK " + n.store.incidents()[0].code)
    n.store.close()


async def _next_sms(events: asyncio.Queue[IncomingSms | IncomingCall]) -> IncomingSms:
    while True:
        event = await asyncio.wait_for(events.get(), timeout=10)
        if isinstance(event, IncomingSms):
            return event


async def test_ack_reply_through_the_modem(
    modem: tuple[ModemEmulator, Modem], tmp_path: Path
) -> None:
    """SMS that reach the modem, handed over as the daemon does: ``(sender, text)``."""
    emu, m = modem
    events = m.subscribe()
    n = notifier(m, tmp_path, escalation_timeout_s=600)
    await n.signal(signal())
    assert await n.run_once() == 1
    code = n.store.incidents()[0].code
    emu.deliver_sms("+420999000111", f"ACK {code}")  # a stranger: ignored
    emu.deliver_sms("+420777000001", f"Ack {code}")
    handled = []
    for _ in range(2):
        sms = await _next_sms(events)
        handled.append((sms.sender, await n.handle_incoming_sms(sms.sender, sms.text)))
    assert handled == [("+420999000111", False), ("+420777000001", True)]
    inc = n.store.incidents()[0]
    assert inc.acked_by == "alice"
    assert "acknowledged by alice via sms" in [what for _, what in n.store.timeline(inc.id)]
    assert await n.run_once() == 1  # the reply, not a reminder
    assert [s.to for s in emu.outbox] == ["+420777000001", "+420777000001"]
    assert emu.outbox[-1].text == f"#{inc.id} acknowledged, reminders stopped."
    n.store.close()


async def test_czech_technician_gets_one_gsm7_sms_when_transliterated(
    modem: tuple[ModemEmulator, Modem], tmp_path: Path
) -> None:
    """Issue 14 point 7: Czech words (and a name with diacritics) would force UCS-2, 3 parts."""
    emu, m = modem
    n = notifier(m, tmp_path, languages={"alice": "cs"}, transliterate=True)
    await n.signal(signal(route="secondary", down=("trunk-a",)))
    assert await n.run_once() == 1
    (sms,) = emu.outbox
    code = n.store.incidents()[0].code
    assert sms.parts == 1 and sms.encoding == "GSM-7"
    assert sms.text.startswith("HOTLINE KRITICKÉ #1: nefunguje primary SIP trunk")  # É: GSM-7
    assert "Hovory jdou na zalozni linku." in sms.text and sms.text.endswith(f"ACK {code}")
    events = m.subscribe()
    emu.deliver_sms("+420777000001", "Beru, jedu na to")  # no code: her one open incident
    got = await _next_sms(events)
    assert await n.handle_incoming_sms(got.sender, got.text)
    assert n.store.incidents()[0].acked_by == "alice"
    assert await n.run_once() == 1
    assert emu.outbox[-1].text == "#1 potvrzeno, pripominky zastaveny."
    n.store.close()
