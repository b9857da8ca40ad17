"""A forwarded call is a real SIP call: sipp UAC → (impairment relay) → Kamailio → sipp UAS."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.sip import PbxNode, Trunk, place_call, wait_options
from lab.udp_proxy import ProxyThread

pytestmark = pytest.mark.timeout(120)

DID, CALLER = "+420212000001", "+420601555001"


@pytest.fixture
def path(tmp_path: Path) -> Iterator[tuple[list[PbxNode], Trunk, int, ProxyThread]]:
    if not (shutil.which("sipp") and shutil.which("kamailio")):
        pytest.skip("sipp and kamailio (Debian packages sip-tester, kamailio) are needed")
    nodes = [PbxNode("pbx-1"), PbxNode("pbx-2")]
    trunk = Trunk("trunk-a", pbx=nodes)
    proxies = ProxyThread()
    try:
        for n in nodes:
            n.start(tmp_path)
        trunk.start(tmp_path)
        for p in (*[n.port for n in nodes], trunk.port):
            wait_options(p)
        relay = proxies.add(trunk.port, seed=1)
        yield nodes, trunk, relay.port, proxies
    finally:
        proxies.close()
        for proc in (trunk, *nodes):
            proc.stop()


def test_calls_reach_a_pbx_node_and_fail_over_between_nodes(
    path: tuple[list[PbxNode], Trunk, int, ProxyThread], tmp_path: Path
) -> None:
    nodes, _, port, _ = path
    first = place_call(port, DID, CALLER, tmp_path, hold_s=0.3)
    assert first.reached, first
    nodes[0].signal(signal.SIGSTOP)  # one PBX node frozen: the dispatcher tries the other
    try:
        results = [place_call(port, DID, CALLER, tmp_path, hold_s=0.3) for _ in range(3)]
    finally:
        nodes[0].signal(signal.SIGCONT)
    assert all(r.reached for r in results), results


def test_a_silent_trunk_or_no_pbx_means_not_reached(
    path: tuple[list[PbxNode], Trunk, int, ProxyThread], tmp_path: Path
) -> None:
    nodes, _, port, proxies = path
    proxies.proxies[0].impairment.down = True
    silent = place_call(port, DID, CALLER, tmp_path, hold_s=0.3, timeout_s=3)
    assert not silent.reached
    proxies.proxies[0].impairment.down = False
    for n in nodes:
        n.signal(signal.SIGSTOP)
    try:
        nobody = place_call(port, DID, CALLER, tmp_path, hold_s=0.3, timeout_s=8)
    finally:
        for n in nodes:
            n.signal(signal.SIGCONT)
    assert not nobody.reached and "408" in nobody.detail, nobody
