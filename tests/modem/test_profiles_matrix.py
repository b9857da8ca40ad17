"""Every driver operation against every modem profile (issue #17), at a fast network latency.

Each profile speaks its vendor's dialect (``modem.emulator.profiles``): SIMCom ignores a class
given with +CCFC modes 0-2/4, Quectel reports forwarded numbers without ``+``, Huawei has no
+CCFC (codes only) and answers ``COMMAND NOT SUPPORT``, u-blox answers an inactive query one
line per class. The driver must get the same results from all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from modem.driver import IncomingSms, Modem
from modem.emulator import ModemEmulator
from modem.emulator.profiles import PROFILES, Profile
from modem.model import ForwardReason
from tests.modem.conftest import FAST

LONG_CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy, hotline na záložní lince. " * 4
"""268 characters outside GSM-7: four UCS-2 parts of 67."""


@pytest.fixture(params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> Profile:
    return PROFILES[request.param]


async def _open(emu: ModemEmulator, **kw: object) -> Modem:
    port = await emu.start_tcp()
    return await Modem.open(
        f"socket://127.0.0.1:{port}",
        command_timeout=2.0,
        network_timeout=5.0,
        **FAST,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def pair(profile: Profile) -> AsyncIterator[tuple[ModemEmulator, Modem]]:
    emu = ModemEmulator(profile=profile)
    emu.faults.latency = 0.01
    modem = await _open(emu)
    yield emu, modem
    await modem.close()
    await emu.stop()


async def test_identify(pair: tuple[ModemEmulator, Modem], profile: Profile) -> None:
    info = await pair[1].info()
    assert (info.manufacturer, info.model, info.revision) == (
        profile.manufacturer, profile.model, profile.revision,
    )  # fmt: skip
    assert info.imei == "356938035643809"


async def test_sim_pin(profile: Profile) -> None:
    emu = ModemEmulator(profile=profile, pin="4321")
    emu.faults.latency = 0.01
    modem = await _open(emu, pin="4321")
    try:
        status = await modem.status()
        assert status.sim_ready and emu.sim_state == "READY"
    finally:
        await modem.close()
        await emu.stop()


async def test_registration_and_signal(pair: tuple[ModemEmulator, Modem]) -> None:
    emu, modem = pair
    emu.signal = 10
    st = await modem.status()
    assert (st.registered, st.roaming, st.signal_dbm, st.can_change_forwarding) == (
        True, False, -93, True,
    )  # fmt: skip
    emu.set_registration(5)
    assert (await modem.status()).roaming
    emu.set_registration(3)
    st = await modem.status()
    assert (st.registered, st.registration, st.can_change_forwarding) == (False, "denied", False)


async def test_forwarding_set_get_clear(
    pair: tuple[ModemEmulator, Modem], profile: Profile
) -> None:
    emu, modem = pair
    assert not (await modem.get_forwarding()).active
    state = await modem.set_forwarding("+420212000001")
    assert (state.active, state.number) == (True, "+420212000001")
    assert emu.voice_forwarding(0).number == "+420212000001"
    busy = await modem.set_forwarding("+420212000002", ForwardReason.BUSY)
    assert busy.number == "+420212000002"
    assert (await modem.get_forwarding()).number == "+420212000001"
    cleared = await modem.clear_forwarding()
    assert not cleared.active and not emu.voice_forwarding(0).active
    assert (await modem.status()).forwarding_via == ("+CCFC" if profile.ccfc else "MMI codes")


async def test_mmi_fallback(pair: tuple[ModemEmulator, Modem]) -> None:
    emu, modem = pair
    emu.faults.ccfc_unsupported = True
    assert (await modem.set_forwarding("+420212000003")).number == "+420212000003"
    assert emu.voice_forwarding(0).number == "+420212000003"
    assert not (await modem.clear_forwarding()).active
    assert emu.attempts["D"] >= 2


@pytest.mark.parametrize(
    ("text", "parts", "encoding"),
    [("Hotline switched to backup", 1, "GSM-7"), ("Přesměrováno", 1, "UCS-2"),
     (LONG_CZECH, 4, "UCS-2"), ("x" * 200, 2, "GSM-7")],
    ids=["gsm7", "ucs2", "long-ucs2", "long-gsm7"],
)  # fmt: skip
async def test_sms_send(
    pair: tuple[ModemEmulator, Modem], text: str, parts: int, encoding: str
) -> None:
    emu, modem = pair
    refs = await modem.send_sms("+420601000111", text)
    sent = emu.outbox[-1]
    assert (sent.to, sent.text, sent.parts, sent.encoding, len(refs)) == (
        "+420601000111", text, parts, encoding, parts,
    )  # fmt: skip


async def test_sms_receive_joined_and_deleted(pair: tuple[ModemEmulator, Modem]) -> None:
    emu, modem = pair
    events = modem.subscribe()
    assert len(emu.deliver_sms("+420601000999", LONG_CZECH)) == 4  # four concatenated parts
    emu.deliver_sms("+420601000998", "OK, beru")
    got = [await asyncio.wait_for(events.get(), 5) for _ in range(2)]
    texts = {(e.sender, e.text) for e in got if isinstance(e, IncomingSms)}
    assert texts == {("+420601000999", LONG_CZECH), ("+420601000998", "OK, beru")}
    for _ in range(50):
        if not emu.network.inbox:
            break
        await asyncio.sleep(0.05)
    assert emu.network.inbox == {}


async def test_reconnect_and_reboot(pair: tuple[ModemEmulator, Modem]) -> None:
    emu, modem = pair
    emu.drop_connections()
    assert (await modem.status()).registered
    emu.schedule_reboot()  # boot URCs (RDY, +QIND, ^BOOT...) arrive as for a power cycle
    await asyncio.sleep(0.3)
    assert (await modem.info()).imei == "356938035643809"
    assert (await modem.set_forwarding("+420212000004")).number == "+420212000004"


WIRE = {
    "standard": b'+CCFC: 1,1,"+420212000001",145',
    "simcom": b"SMS Ready",
    "quectel": b'+CCFC: 1,1,"420212000001",145',
    "huawei": b"COMMAND NOT SUPPORT",
    "ublox": b"+CCFC: 0,1\r\n\r\n+CCFC: 0,2\r\n\r\n+CCFC: 0,4",
}


async def test_each_quirk_is_on_the_wire(
    pair: tuple[ModemEmulator, Modem], profile: Profile
) -> None:
    """The matrix above passes because the driver copes, not because the dialects are equal."""
    emu, modem = pair
    await modem.get_forwarding(ForwardReason.BUSY)
    await modem.set_forwarding("+420212000001")
    emu.schedule_reboot()
    await asyncio.sleep(0.3)
    await modem.info()
    wire = b"".join(data for _, _, direction, data in emu.transcript if direction == ">")
    assert WIRE[profile.name] in wire
