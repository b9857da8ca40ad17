"""The same driver over a pty (a device path) and over real ser2net (RFC 2217), as deployed with a
modem on another host. ser2net comes from Debian (scripts/apt-packages.txt)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modem.driver import ForwardReason, IncomingCall, Modem
from modem.emulator import ModemEmulator

FAST = {"retry_delays": (0.05,), "reconnect_delays": (0.2, 0.4, 0.8, 1.6)}
CZECH_300 = ("Příliš žluťoučký kůň úpěl ďábelské ódy; hotline výpadek — volejte technika! " * 5)[
    :300
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def pty_emulator(tmp_path: Path) -> AsyncIterator[tuple[ModemEmulator, Path]]:
    emu = ModemEmulator()
    emu.faults.latency = 0.01
    link = tmp_path / "ttyMODEM0"
    await emu.start_pty(link)
    yield emu, link
    await emu.stop()


async def test_device_path_over_pty_and_re_enumeration(
    pty_emulator: tuple[ModemEmulator, Path],
) -> None:
    emu, link = pty_emulator
    modem = await Modem.open(str(link), command_timeout=2, network_timeout=5, **FAST)  # type: ignore[arg-type]
    try:
        assert (await modem.set_forwarding("+420212000001")).active
        emu.drop_connections()  # the USB modem vanishes and comes back under the same name
        await asyncio.sleep(0.5)
        state = await modem.set_forwarding("+420601000111", ForwardReason.BUSY)
        assert state.number == "+420601000111" and emu.voice_forwarding(1).active
    finally:
        await modem.close()


class Ser2net:
    """ser2net 4 serving one pty as an RFC 2217 port on 127.0.0.1, in the test's temp dir."""

    def __init__(self, link: Path, tmp_path: Path) -> None:
        self.port = free_port()
        self.config = tmp_path / "ser2net.yaml"
        self.config.write_text(
            "%YAML 1.1\n---\n"
            "connection: &modem\n"
            f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{self.port}\n"
            f"  connector: serialdev,{link.resolve()},115200n81,local\n"
        )
        self.pidfile = tmp_path / "ser2net.pid"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"rfc2217://127.0.0.1:{self.port}?ign_set_control"

    async def start(self) -> None:
        if shutil.which("ser2net") is None:
            pytest.fail("ser2net is not installed (scripts/apt-packages.txt lists it)")
        self.proc = subprocess.Popen(
            ["ser2net", "-n", "-d", "-u", "-c", str(self.config), "-P", str(self.pidfile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(100):
            await asyncio.sleep(0.05)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            if self.proc.poll() is not None:
                pytest.fail(f"ser2net exited with {self.proc.returncode}")
        pytest.fail("ser2net did not listen")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
async def ser2net(
    pty_emulator: tuple[ModemEmulator, Path], tmp_path: Path
) -> AsyncIterator[tuple[ModemEmulator, Ser2net]]:
    emu, link = pty_emulator
    server = Ser2net(link, tmp_path)
    await server.start()
    try:
        yield emu, server
    finally:
        server.stop()


@pytest.mark.slow
async def test_remote_modem_through_ser2net_rfc2217(
    ser2net: tuple[ModemEmulator, Ser2net],
) -> None:
    emu, server = ser2net
    modem = await Modem.open(server.url, command_timeout=3, network_timeout=5, **FAST)  # type: ignore[arg-type]
    try:
        events = modem.subscribe()
        assert (await modem.info()).imei == "356938035643809"
        for reason in ForwardReason:
            state = await modem.set_forwarding("+420212000001", reason)
            assert state.active and state.number == "+420212000001"
            assert not (await modem.clear_forwarding(reason)).active
        assert len(await modem.send_sms("+420601000111", CZECH_300)) == 5
        assert emu.outbox[-1].text == CZECH_300
        emu.ring("+420601000999")
        call = await asyncio.wait_for(events.get(), 3)
        assert isinstance(call, IncomingCall) and call.caller == "+420601000999"
    finally:
        await modem.close()


@pytest.mark.slow
async def test_ser2net_restart_is_survived(ser2net: tuple[ModemEmulator, Ser2net]) -> None:
    emu, server = ser2net
    modem = await Modem.open(server.url, command_timeout=3, network_timeout=5, **FAST)  # type: ignore[arg-type]
    try:
        assert (await modem.set_forwarding("+420212000001")).active
        server.stop()  # the remote serial server goes away...
        await asyncio.sleep(0.3)
        await server.start()  # ...and comes back on the same port
        state = await modem.set_forwarding("+420601000111")
        assert state.number == "+420601000111" and emu.voice_forwarding(0).number == state.number
    finally:
        await modem.close()
