"""In a cluster with a network serial port (ser2net), only the leader holds the modem."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.config import HotlineConfig
from controller.daemon import _modem_gate
from modem.device import ModemDevice
from modem.emulator import ModemEmulator
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
