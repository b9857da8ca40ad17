"""The shared device (modem.device.ModemDevice) against the emulator: lazy open gated by
``may_open``, reopen after a lost port with the same incoming queue, verified forwarding with one
read-back, E.164 before any AT; and the pure rules next to it (numbers, local devices, layering)."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modem.device import ModemDevice
from modem.driver import Modem
from modem.e164 import InvalidNumber, normalize, same_number
from modem.emulator import ModemEmulator
from modem.errors import ForwardingNotVerified, ModemUnavailable
from modem.model import IncomingSms
from modem.url import is_local_device

PRIMARY, MOBILE = "+420212000001", "+420601000111"
QUERY = b"AT+CCFC=0,2\r"


def sent(emu: ModemEmulator, needle: bytes) -> int:
    return b"".join(data for _, _, way, data in emu.transcript if way == "<").count(needle)


@pytest.fixture
async def emu() -> AsyncIterator[ModemEmulator]:
    e = ModemEmulator(pin="1234")
    e.faults.latency = 0.01
    yield e
    await e.stop()


def device(port: int, **kw: object) -> ModemDevice:
    return ModemDevice(
        f"socket://127.0.0.1:{port}",
        pin="1234",
        command_timeout=2.0,
        network_timeout=5.0,
        retry_delays=(0.05,),
        reconnect_delays=(0.1, 0.2),
        **kw,  # type: ignore[arg-type]
    )


async def test_forwarding_is_written_verified_with_one_read_back(emu: ModemEmulator) -> None:
    dev = device(await emu.start_tcp())
    try:
        assert emu.connections == 0  # lazy: nothing opened before the first use
        assert await dev.read_forwarding() is None
        assert sent(emu, QUERY) == 1
        await dev.write_forwarding(PRIMARY)
        assert sent(emu, QUERY) == 2  # the driver's own verification, nothing more
        assert emu.voice_forwarding(0).number == PRIMARY
        assert await dev.read_forwarding() == PRIMARY
        emu.faults.ccfc_ignored = True
        with pytest.raises(ForwardingNotVerified):
            await dev.write_forwarding(MOBILE)
    finally:
        await dev.close()


async def test_a_bad_number_never_reaches_the_modem(emu: ModemEmulator) -> None:
    dev = device(await emu.start_tcp())
    try:
        for bad in ("+420;+CFUN=0", "420212000001", "+0212000001"):
            with pytest.raises(InvalidNumber):
                await dev.write_forwarding(bad)
            with pytest.raises(InvalidNumber):
                await dev.send_sms(bad, "x")
        assert emu.connections == 0 and sent(emu, b"AT+CCFC=0,3") == 0
    finally:
        await dev.close()


async def test_status_sms_and_the_gate(emu: ModemEmulator) -> None:
    may = {"open": False}
    dev = device(await emu.start_tcp(), may_open=lambda: may["open"])
    try:
        with pytest.raises(ModemUnavailable, match="held by the leader"):
            await dev.status()
        assert emu.connections == 0
        may["open"] = True
        assert (await dev.status()).sim_ready
        refs = await dev.send_sms(MOBILE, "Ahoj")
        assert len(refs) == 1 and emu.outbox[-1].text == "Ahoj"
    finally:
        await dev.close()


async def test_incoming_sms_keep_the_queue_across_reopens(emu: ModemEmulator) -> None:
    dev = device(await emu.start_tcp())
    queue = dev.incoming()
    try:
        await dev.status()
        emu.deliver_sms(MOBILE, "ACK 1")
        first = await asyncio.wait_for(queue.get(), 5)
        assert isinstance(first, IncomingSms) and first.text == "ACK 1"
        await dev.close()  # as after a failed port; the next use opens it again
        assert (await dev.status()).registered
        assert dev.incoming() is queue
        emu.deliver_sms(MOBILE, "ACK 2")
        second = await asyncio.wait_for(queue.get(), 5)
        assert isinstance(second, IncomingSms) and second.text == "ACK 2"
    finally:
        await dev.close()


async def test_a_failing_port_is_closed_and_reopened_on_next_use(
    emu: ModemEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = device(await emu.start_tcp())
    try:
        await dev.status()
        assert emu.connections == 1
        real = Modem.status

        async def broken(self: Modem) -> object:
            monkeypatch.setattr(Modem, "status", real)
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(Modem, "status", broken)
        with pytest.raises(ModemUnavailable, match="Input/output error"):
            await dev.status()
        for _ in range(100):
            if emu.connections == 0:
                break
            await asyncio.sleep(0.02)
        assert emu.connections == 0
        assert (await dev.status()).sim_ready and emu.connections == 1
    finally:
        await dev.close()


def test_one_number_rule() -> None:
    assert normalize(" 00420212000001") == normalize("420212000001") == "+420212000001"
    assert normalize("+420212000001") == "+420212000001"
    assert same_number("420212000001", "+420212000001")
    assert same_number("00420212000001", "+420212000001")
    assert not same_number(None, "+420212000001") and not same_number(None, None)
    assert not same_number("+420212000001", "+420212000002")


def test_local_device() -> None:
    assert is_local_device("/dev/ttyUSB2") and is_local_device("COM3")
    assert is_local_device("/dev/hotline-modem")
    assert not is_local_device("rfc2217://10.0.0.5:2217?ign_set_control")
    assert not is_local_device("socket://127.0.0.1:7000") and not is_local_device("loop://")


def test_modem_imports_nothing_from_controller() -> None:
    """modem/ is the layer below the controller: it must stand alone (and the CLI, the health
    probe and the daemon depend on it, never the other way round)."""
    root = Path(__file__).resolve().parents[2] / "modem"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("controller", "health")
            ]
    assert offenders == []
