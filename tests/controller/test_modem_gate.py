"""In a cluster with a network serial port (ser2net), only the leader holds the modem."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.config import HotlineConfig
from controller.daemon import _modem_gate
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
from modem.emulator.faults import Faults
from modem.errors import ModemUnavailable
from tests.controller.helpers import lab_config, lab_dict
from tests.support.memory_coordinator import MemoryCoordinator


async def test_a_link_that_may_not_open_releases_the_port() -> None:
    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    leader = {"now": True}
    link = ModemDevice(
        f"socket://127.0.0.1:{port}",
        pin="1234",
        command_timeout=5,
        network_timeout=5,
        may_open=lambda: leader["now"],
    )
    try:
        assert (await link.status()).sim_ready
        assert emu.connections == 1
        leader["now"] = False
        with pytest.raises(ModemUnavailable, match="held by the leader"):
            await link.status()
        for _ in range(100):  # the emulator sees the connection end
            if emu.connections == 0:
                break
            await asyncio.sleep(0.02)
        assert emu.connections == 0
        leader["now"] = True
        assert (await link.status()).sim_ready
    finally:
        await link.close()
        await emu.stop()


def _cfg(tmp_path: Path, url: str, backend: str) -> HotlineConfig:
    data = lab_dict()
    coord: dict[str, object] = {"backend": backend}
    if backend == "zookeeper":
        coord["zookeeper"] = {"hosts": ["127.0.0.1:2181"], "path": "/hotline/t"}
    return lab_config(
        node={"name": "n1", "state_dir": str(tmp_path)},
        hotline={**data["hotline"], "modem": {"url": url}},
        coordination=coord,
    )


@pytest.mark.parametrize(
    ("url", "backend", "leader", "lost", "may"),
    [
        ("socket://127.0.0.1:7000", "local", False, None, None),  # single node: never gated
        ("socket://127.0.0.1:7000", "zookeeper", True, None, True),
        ("socket://127.0.0.1:7000", "zookeeper", False, None, False),
        ("rfc2217://hl-1:7000", "zookeeper", False, 12.0, False),  # cut off, but not its port
        ("/dev/hotline-modem", "zookeeper", False, None, False),  # ser2net serves it to the leader
        ("/dev/hotline-modem", "zookeeper", True, None, True),
        ("/dev/hotline-modem", "zookeeper", False, 12.0, True),  # no quorum: last resort may act
    ],
)
def test_who_may_open_the_modem(
    tmp_path: Path, url: str, backend: str, leader: bool, lost: float | None, may: bool | None
) -> None:
    coord = MemoryCoordinator()
    coord.leader, coord.lost_since = leader, lost
    gate = _modem_gate(_cfg(tmp_path, url, backend), coord)
    assert (None if gate is None else gate()) is may


def _device(port: int, gate: dict[str, bool]) -> ModemDevice:
    return ModemDevice(
        f"socket://127.0.0.1:{port}",
        pin="1234",
        command_timeout=5,
        network_timeout=5,
        may_open=lambda: gate["now"],
        reconnect_delays=(0.05, 0.05),
    )


def _peers(emu: ModemEmulator) -> set[str]:
    return {who for _, who, _, _ in emu.transcript}


@pytest.mark.parametrize("allowed", [True, False])
async def test_the_background_reconnect_goes_through_the_gate(allowed: bool) -> None:
    """A port lost while this node may not hold the modem is not reopened by the link itself
    (a deposed leader would take the modem from the real one behind ser2net kickolduser)."""
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp("127.0.0.1", 0)
    gate = {"now": True}
    device = _device(port, gate)
    try:
        assert (await device.status()).sim_ready
        first = _peers(emu)
        gate["now"] = allowed
        emu.drop_connections()
        for _ in range(100):  # bounded: 2 s for a reconnect (its delays are 0.05 s)
            if len(_peers(emu)) > len(first):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert (len(_peers(emu)) > len(first)) is allowed
        assert (emu.connections == 1) is allowed
    finally:
        await device.close()
        await emu.stop()


async def test_release_if_barred_closes_the_port_at_once() -> None:
    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp("127.0.0.1", 0)
    gate = {"now": True}
    device = _device(port, gate)
    try:
        await device.open()
        assert device.is_open() and not await device.release_if_barred()
        gate["now"] = False
        assert await device.release_if_barred()
        assert not device.is_open()
        for _ in range(100):
            if emu.connections == 0:
                break
            await asyncio.sleep(0.02)
        assert emu.connections == 0
        with pytest.raises(ModemUnavailable):
            await device.open()
    finally:
        await device.close()
        await emu.stop()


async def test_a_forwarding_write_goes_before_queued_sms() -> None:
    """Three SMS wait for the modem; the +CCFC write started after them runs right after the
    command in flight (one AT+CMGS), not after all of them."""
    emu = ModemEmulator(pin="1234", faults=Faults(latency=0.15))
    port = await emu.start_tcp("127.0.0.1", 0)
    device = _device(port, {"now": True})
    try:
        await device.open()
        sms = [asyncio.create_task(device.send_sms("+420777000001", f"t{i}")) for i in range(3)]
        await asyncio.sleep(0.05)  # the first AT+CMGS is in flight, two more wait
        await device.write_forwarding("+420212000002")
        await asyncio.gather(*sms)
        sent = [
            d.decode("latin-1").strip() for _, _, direction, d in emu.transcript if direction == "<"
        ]
        order = [line for line in sent if line.startswith(("AT+CMGS", "AT+CCFC=0,3"))]
        assert order[0].startswith("AT+CMGS") and order[1].startswith("AT+CCFC=0,3"), order
        assert sum(line.startswith("AT+CMGS") for line in order) == 3
    finally:
        await device.close()
        await emu.stop()
