"""In a cluster with a network serial port (ser2net), only the leader holds the modem."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.daemon import _modem_gate
from controller.loop.actuators.modem import ModemLink
from modem.emulator import ModemEmulator
from modem.errors import ModemUnavailable
from tests.controller.helpers import lab_config, lab_dict


async def test_a_link_that_may_not_open_releases_the_port() -> None:
    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    leader = {"now": True}
    link = ModemLink(
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


def _cfg(tmp_path: Path, url: str, backend: str) -> object:
    data = lab_dict()
    coord = {"backend": backend}
    if backend == "zookeeper":
        zk = {"hosts": ["127.0.0.1:2181"], "path": "/hotline/t"}
        coord["zookeeper"] = zk  # type: ignore[assignment]
    return lab_config(
        node={"name": "n1", "state_dir": str(tmp_path)},
        hotline={**data["hotline"], "modem": {"url": url}},
        coordination=coord,
    )


class _Coord:
    def __init__(self, leader: bool, lost: float | None) -> None:
        self.leader, self.lost = leader, lost

    def is_leader(self) -> bool:
        return self.leader

    def quorum_lost_since(self) -> float | None:
        return self.lost


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
def test_who_may_open_the_modem(  # type: ignore[no-untyped-def]
    tmp_path: Path, url: str, backend: str, leader: bool, lost, may
) -> None:
    gate = _modem_gate(_cfg(tmp_path, url, backend), _Coord(leader, lost))  # type: ignore[arg-type]
    assert (None if gate is None else gate()) is may
