"""The driver against the in-process emulator: every operation and every fault."""

from __future__ import annotations

import asyncio

import pytest

from modem.driver import ForwardReason, IncomingCall, IncomingSms, Modem
from modem.e164 import InvalidNumber
from modem.emulator import ErrorFault, ModemEmulator
from modem.errors import (
    ForwardingNotVerified,
    ModemError,
    ModemTimeout,
    ModemUnavailable,
    PinRejected,
)

FAST = {"retry_delays": (0.05, 0.05, 0.05), "reconnect_delays": (0.1, 0.2, 0.4)}
CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy; hotline výpadek — volejte technika! "
CZECH_300 = (CZECH * 5)[:300]
PRIMARY, MOBILE = "+420212000001", "+420601000111"


def sent(emu: ModemEmulator, needle: bytes) -> int:
    return sum(data.count(needle) for _, _, d, data in emu.transcript if d == "<")


async def open_modem(url: str, **kw: object) -> Modem:
    args: dict[str, object] = {"command_timeout": 2.0, "network_timeout": 5.0, **FAST, **kw}
    return await Modem.open(url, **args)  # type: ignore[arg-type]


async def test_info_and_status(modem: Modem) -> None:
    info = await modem.info()
    assert (info.manufacturer, info.model, info.imei) == (
        "EMU Networks",
        "HotlineSim 1",
        "356938035643809",
    )
    status = await modem.status()
    assert status.sim_ready and status.registered and not status.roaming
    assert (status.registration, status.signal_dbm, status.operator) == ("home", -73, "EMU-NET")


async def test_status_roaming_and_without_network(modem: Modem, emulator: ModemEmulator) -> None:
    emulator.registration, emulator.signal = 5, 31
    status = await modem.status()
    assert status.roaming and status.registration == "roaming" and status.signal_dbm == -51
    emulator.faults.no_network = True
    status = await modem.status()
    assert not status.registered and status.signal_dbm is None and status.operator is None


@pytest.mark.parametrize("reason", list(ForwardReason))
async def test_forwarding_set_get_clear_every_reason(
    modem: Modem, emulator: ModemEmulator, reason: ForwardReason
) -> None:
    code = list(ForwardReason).index(reason)
    state = await modem.set_forwarding(PRIMARY, reason)
    assert (state.reason, state.active, state.number) == (reason, True, PRIMARY)
    assert emulator.voice_forwarding(code).number == PRIMARY
    assert await modem.get_forwarding(reason) == state
    state = await modem.clear_forwarding(reason)
    assert (state.active, state.number) == (False, None)
    assert not emulator.voice_forwarding(code).active
    assert sent(emulator, b'AT+CSCS="GSM"') >= 2


async def test_switch_to_mobile_and_see_drift(modem: Modem, emulator: ModemEmulator) -> None:
    await modem.set_forwarding(PRIMARY)
    await modem.set_forwarding(MOBILE)
    assert emulator.voice_forwarding(0).number == MOBILE
    emulator.network.apply_ccfc(0, 3, "+420999000999", 145, 1, None)  # someone else changed it
    assert (await modem.get_forwarding()).number == "+420999000999"


@pytest.mark.parametrize("bad", ["+420;+CFUN=0", '+420"\r\nAT+CFUN=0', "00420212000001", ""])
async def test_bad_number_never_reaches_the_modem(
    modem: Modem, emulator: ModemEmulator, bad: str
) -> None:
    before = len(emulator.transcript)
    with pytest.raises(InvalidNumber):
        await modem.set_forwarding(bad)
    with pytest.raises(InvalidNumber):
        await modem.send_sms(bad, "hello")
    assert len(emulator.transcript) == before


async def test_network_ignoring_the_change_is_caught(modem: Modem, emulator: ModemEmulator) -> None:
    await modem.set_forwarding(PRIMARY)
    emulator.faults.ccfc_ignored = True
    with pytest.raises(ForwardingNotVerified) as exc:
        await modem.set_forwarding(MOBILE)
    assert PRIMARY in str(exc.value)
    with pytest.raises(ForwardingNotVerified):
        await modem.clear_forwarding()


async def test_mmi_fallback_when_ccfc_is_refused(modem: Modem, emulator: ModemEmulator) -> None:
    emulator.faults.ccfc_unsupported = True
    state = await modem.set_forwarding(MOBILE, ForwardReason.NOT_REACHABLE)
    assert state.active and state.number == MOBILE
    assert emulator.voice_forwarding(3).number == MOBILE
    assert sent(emulator, b"ATD**62*+420601000111#;") == 1
    assert sent(emulator, b"ATD*#62#;") >= 1
    assert not (await modem.clear_forwarding(ForwardReason.NOT_REACHABLE)).active
    assert sent(emulator, b"ATD##62#;") == 1


async def test_transient_errors_are_retried(modem: Modem, emulator: ModemEmulator) -> None:
    n = emulator.attempts["+CCFC"]
    emulator.faults.errors = [ErrorFault("+CCFC", n + 1, 30), ErrorFault("+CCFC", n + 2, 258)]
    assert (await modem.set_forwarding(PRIMARY)).active
    assert emulator.attempts["+CCFC"] == n + 4  # two failures, the change, the read-back


async def test_transient_retries_are_bounded(modem: Modem, emulator: ModemEmulator) -> None:
    n = emulator.attempts["+CCFC"]
    emulator.faults.errors = [ErrorFault("+CCFC", n + i, 31) for i in range(1, 20)]
    with pytest.raises(ModemError) as exc:
        await modem.get_forwarding()
    assert (exc.value.code, exc.value.meaning, exc.value.transient) == (31, "network timeout", True)
    assert emulator.attempts["+CCFC"] == n + 4  # first try + 3 retries


async def test_refusals_are_not_retried(modem: Modem, emulator: ModemEmulator) -> None:
    n = emulator.attempts["+CCFC"]
    emulator.faults.errors = [ErrorFault("+CCFC", n + 1, 257)]
    with pytest.raises(ModemError) as exc:
        await modem.set_forwarding(PRIMARY)
    assert (exc.value.code, exc.value.meaning) == (257, "network rejected request")
    assert exc.value.command == "+CCFC" and emulator.attempts["+CCFC"] == n + 1


async def test_no_network(modem: Modem, emulator: ModemEmulator) -> None:
    emulator.faults.no_network = True
    with pytest.raises(ModemError) as exc:
        await modem.set_forwarding(PRIMARY)
    assert exc.value.code == 30 and exc.value.transient


async def test_slow_network_times_out_then_the_link_resyncs(
    emulator: ModemEmulator, url: str
) -> None:
    modem = await open_modem(url, network_timeout=0.3, command_timeout=0.5)
    try:
        emulator.faults.latency_per_command["+CCFC"] = 1.0
        with pytest.raises(ModemTimeout):
            await modem.get_forwarding()
        emulator.faults.latency_per_command.clear()
        await modem.set_forwarding(PRIMARY)
        assert (await modem.get_forwarding()).number == PRIMARY
        assert (await modem.info()).imei == "356938035643809"
    finally:
        await modem.close()


async def test_unanswered_command_times_out(emulator: ModemEmulator, url: str) -> None:
    modem = await open_modem(url, network_timeout=0.3, command_timeout=0.5)
    try:
        emulator.faults.hang_on = "+CCFC"
        with pytest.raises(ModemTimeout):
            await modem.get_forwarding()
        assert (await modem.set_forwarding(MOBILE)).number == MOBILE
    finally:
        await modem.close()


async def test_wedged_modem_is_reset_with_cfun(emulator: ModemEmulator, url: str) -> None:
    modem = await open_modem(url, network_timeout=0.3, command_timeout=0.3)
    try:
        emulator.faults.wedged = True
        with pytest.raises(ModemTimeout):
            await modem.get_forwarding()
        assert sent(emulator, b"AT+CFUN=1,1") == 1
        assert not emulator.faults.wedged
        assert (await modem.set_forwarding(PRIMARY)).active  # reconnects, re-initialises
    finally:
        await modem.close()


async def test_garbage_and_urc_inside_responses(modem: Modem, emulator: ModemEmulator) -> None:
    events = modem.subscribe()
    emulator.faults.garbage = "\x00\xff\x13~~#"
    emulator.faults.mid_response_urc = '+CLIP: "+420601000999",145,"",,"",0'
    assert (await modem.set_forwarding(PRIMARY)).number == PRIMARY
    call = await asyncio.wait_for(events.get(), 2)
    assert isinstance(call, IncomingCall) and call.caller == "+420601000999"
    assert (await modem.status()).signal_dbm == -73


async def test_dropped_connection_reconnects_and_verifies(
    modem: Modem, emulator: ModemEmulator
) -> None:
    emulator.faults.drop_on = "+CCFC"
    state = await modem.set_forwarding(MOBILE)
    assert state.number == MOBILE and emulator.voice_forwarding(0).number == MOBILE
    assert emulator.connections == 1


async def test_port_lost_while_idle_events_keep_flowing(
    modem: Modem, emulator: ModemEmulator
) -> None:
    events = modem.subscribe()
    emulator.drop_connections()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if emulator.connections == 1 and modem.link.connected:
            break
    await asyncio.sleep(0.2)  # the init sequence enables +CLIP after connecting
    emulator.ring("+420601000999")
    call = await asyncio.wait_for(events.get(), 3)
    assert isinstance(call, IncomingCall) and call.caller == "+420601000999"


async def test_modem_gone_for_good(emulator: ModemEmulator, url: str) -> None:
    modem = await open_modem(url)
    await emulator.stop()
    try:
        with pytest.raises(ModemUnavailable):
            await modem.get_forwarding()
    finally:
        await modem.close()
    with pytest.raises(ModemUnavailable):
        await open_modem(url)


async def test_sticky_echo(emulator: ModemEmulator, url: str) -> None:
    emulator.faults.sticky_echo = True
    modem = await open_modem(url)
    try:
        assert (await modem.set_forwarding(PRIMARY)).active
        assert await modem.send_sms(MOBILE, "echo test") and emulator.outbox[-1].text == "echo test"
    finally:
        await modem.close()


async def test_pin_unlocks_the_sim() -> None:
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp()
    try:
        modem = await open_modem(f"socket://127.0.0.1:{port}", pin="1234")
        assert (await modem.status()).sim_ready
        await modem.close()
    finally:
        await emu.stop()


@pytest.mark.parametrize("pin", [None, "0000"])
async def test_missing_or_wrong_pin_is_never_retried(pin: str | None) -> None:
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp()
    try:
        with pytest.raises(PinRejected if pin else ModemError) as exc:
            await open_modem(f"socket://127.0.0.1:{port}", pin=pin)
        assert "1234" not in str(exc.value) and "0000" not in str(exc.value)
        assert sent(emu, b"AT+CPIN=") == (1 if pin else 0)
        assert emu.network.pin_attempts_left == (2 if pin else 3)
    finally:
        await emu.stop()


async def test_sms_czech_300_arrives_whole(modem: Modem, emulator: ModemEmulator) -> None:
    refs = await modem.send_sms(MOBILE, CZECH_300)
    assert len(refs) == 5 and len(set(refs)) == 5
    [msg] = emulator.outbox
    assert (msg.to, msg.text, msg.parts, msg.encoding) == (MOBILE, CZECH_300, 5, "UCS-2")


async def test_sms_long_gsm7(modem: Modem, emulator: ModemEmulator) -> None:
    text = "Outage: trunk A down [PBX-1]; forward -> mobile. " * 7
    refs = await modem.send_sms(MOBILE, text)
    assert len(refs) == 3 and emulator.outbox[-1].text == text
    assert emulator.outbox[-1].encoding == "GSM-7"


async def test_sms_text_cannot_inject_commands(modem: Modem, emulator: ModemEmulator) -> None:
    await modem.send_sms(MOBILE, "alarm\x1aAT+CFUN=0\r\x1b")
    assert emulator.outbox[-1].text == "alarmAT+CFUN=0\n"
    assert sent(emulator, b"\rAT+CFUN=0") == 0


async def test_sms_text_mode_fallback(emulator: ModemEmulator, url: str) -> None:
    emulator.faults.pdu_unsupported = True
    modem = await open_modem(url)
    try:
        await modem.send_sms(MOBILE, "Výpadek\x1aAT+CFUN=0\r\nlinky")
        assert emulator.outbox[-1].text == "VypadekAT+CFUN=0 linky"
        assert emulator.outbox[-1].encoding == "text"
        assert sent(emulator, b"\x1aAT+CFUN=0") == 0
    finally:
        await modem.close()


async def test_sms_transient_cms_error_retried(modem: Modem, emulator: ModemEmulator) -> None:
    n = emulator.attempts["+CMGS"]
    emulator.faults.errors = [ErrorFault("+CMGS", n + 1, 42, "cms")]
    assert len(await modem.send_sms(MOBILE, "retry me")) == 1
    assert emulator.outbox[-1].text == "retry me"
    emulator.faults.errors = [ErrorFault("+CMGS", n + 3, 330, "cms")]
    with pytest.raises(ModemError) as exc:
        await modem.send_sms(MOBILE, "no smsc")
    assert (exc.value.kind, exc.value.code, exc.value.meaning) == (
        "cms",
        330,
        "SMSC address unknown",
    )


async def test_incoming_sms_and_calls(modem: Modem, emulator: ModemEmulator) -> None:
    events = modem.subscribe()
    emulator.deliver_sms("+420601000999", "OK\n+CME ERROR: 3")
    sms = await asyncio.wait_for(events.get(), 3)
    assert isinstance(sms, IncomingSms)
    assert (sms.sender, sms.text) == ("+420601000999", "OK\n+CME ERROR: 3")
    for _ in range(50):  # the driver deletes it from the SIM after handing it out
        if not emulator.network.inbox:
            break
        await asyncio.sleep(0.02)
    assert emulator.network.inbox == {}
    emulator.ring("+420601000888")
    call = await asyncio.wait_for(events.get(), 3)
    assert isinstance(call, IncomingCall) and call.caller == "+420601000888"
    emulator.deliver_sms("+420601000999", "Zpráva: výpadek")
    sms = await asyncio.wait_for(events.get(), 3)
    assert isinstance(sms, IncomingSms) and sms.text == "Zpráva: výpadek"
