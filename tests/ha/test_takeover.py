"""Leader changes on a real 3-server ensemble, three daemons, the emulator behind real ser2net.

The emulator takes 0.5 s per network operation (+CCFC) like a real network and is served by
ser2net 4 with ``kickolduser`` (as deploy/ansible serves it); each daemon reaches ser2net through
its own relay (tests/ha/relay.py), so the test sees which node opened the modem and when. The
timing figures are the benchmark's (benchmarks/bench_failover.py); these tests check the order of
events and generous bounds only.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ha.daemon_lab import ROOT, TOKEN, DaemonLab
from tests.support.zk_lab import ZkEnsemble

# The modem-sim process stamps its transcript with the real wall clock.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.wall_clock]

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


def _need_ser2net() -> None:
    import shutil

    if shutil.which("ser2net") is None:
        pytest.skip("ser2net (Debian package) is not installed")


@pytest.fixture
def lab(zk3: ZkEnsemble, tmp_path: Path) -> Iterator[DaemonLab]:
    _need_ser2net()
    lab = DaemonLab(tmp_path / "lab", zk3.hosts, latency_s=0.5, ser2net=True)
    try:
        lab.start_modem()
        lab.start()
        yield lab
    finally:
        lab.close()


def status(lab: DaemonLab, node: str) -> dict[str, Any]:
    code, body = lab.get(node, "/v1/status")
    assert code == 200, body
    return dict(body)


def settled(lab: DaemonLab, node: str, route: str) -> bool:
    active = status(lab, node)["active"]
    return bool(active["route"] == route and active["verified"])


def holders(lab: DaemonLab, node: str) -> list[str]:
    _, report = lab.get(node, "/v1/cluster")
    return [m["node"] for m in report["members"] if m["holds_modem"]]


def test_sigkill_of_the_leader_then_a_verified_route_and_one_truth(lab: DaemonLab) -> None:
    old = lab.one_leader(30)
    lab.wait("primary settled", lambda: settled(lab, old, "primary"), 30)
    lab.signal(old, signal.SIGKILL)
    lab.break_("trunk-a")
    t0 = time.monotonic()
    wall0 = time.time()
    new = lab.one_leader(lab.session_s * 6, exclude=old)
    lab.wait("secondary verified by the new leader", lambda: settled(lab, new, "secondary"), 30)
    took = time.monotonic() - t0
    # The bound the issue asks for is session + 1.5 s (the benchmark's figure); here generous.
    assert took < lab.session_s * 4, f"takeover took {took:.2f}s"
    writes = [t for t, _, c in lab.ccfc_writes() if t > wall0 and SECONDARY in c]
    assert len(writes) == 1, "one write, verified by its one read-back"
    (opened,) = lab.modem_opens(new, wall0)[:1]  # the new leader opened the modem, once
    assert opened < writes[0]
    followers = [n for n in lab.names if n not in (old, new)]
    assert not any(lab.modem_opens(f, wall0) for f in followers)

    # One truth from every live node: the route, who wrote it, the leader's decision.
    def written_by(node: str) -> str | None:
        writer = status(lab, node)["cluster"]["written_by"]
        return writer["node"] if writer else None

    for node in (new, *followers):
        lab.wait(f"{node} names the writer", lambda node=node: written_by(node) == new, 5)
    for node in (new, *followers):
        s = status(lab, node)
        assert s["leader"] == new and s["active"]["route"] == "secondary", s
        assert s["cluster"]["readback"]["number"] == SECONDARY, s["cluster"]
        assert "no decision yet" not in s["reason"], s["reason"]
    assert status(lab, new)["may_actuate"] and not status(lab, followers[0])["may_actuate"]
    assert lab.wait("holders", lambda: holders(lab, followers[0]) == [new], 5)

    # A follower's event log read is the leader's; the CLI shows the cluster.
    code, events = lab.get(followers[0], "/v1/events?limit=1000")
    assert code == 200 and any(e["kind"] == "switch" and e["epoch"] for e in events)
    out = _cli(lab, followers[0], "cluster")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[2:] if line.strip()}
    assert set(rows) == {new, *followers} and "HOLDS" in rows[new] and "leader" in rows[new]
    out = _cli(lab, followers[0], "events", "--limit", "5")
    assert out.returncode == 0 and out.stdout.strip(), out


def _cli(lab: DaemonLab, node: str, *args: str) -> subprocess.CompletedProcess[str]:
    url = f"http://127.0.0.1:{lab.ports[node]}"
    argv = [sys.executable, "-m", "controller", *args, "--url", url, "--token", TOKEN]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)


def test_a_leader_frozen_past_its_session_never_reopens_the_modem(lab: DaemonLab) -> None:
    first = lab.one_leader(30)
    lab.wait("primary settled", lambda: settled(lab, first, "primary"), 30)
    lab.wait("the leader holds the modem", lambda: holders(lab, first) == [first], 5)
    lab.signal(first, signal.SIGSTOP)
    frozen = time.time()
    lab.break_("trunk-a")
    second = lab.one_leader(lab.session_s * 6, exclude=first)
    # The new leader takes the modem from the frozen one (kickolduser) and actuates meanwhile.
    lab.wait("secondary in the modem", lambda: lab.forwarded_to() == SECONDARY, 30)
    lab.wait("secondary settled", lambda: settled(lab, second, "secondary"), 30)
    resumed = time.time()
    lab.signal(first, signal.SIGCONT)
    time.sleep(lab.session_s * 2)  # it wakes, finds its port gone, learns its term is over
    assert lab.modem_opens(first, frozen) == [], "the resumed node opened the modem"
    assert lab.one_leader(lab.session_s * 3) == second
    assert lab.forwarded_to() == SECONDARY
    assert [t for t, _, c in lab.ccfc_writes() if t > resumed] == []
    log = (lab.tmp / f"{second}.log").read_text(errors="replace")
    assert "modem_port_lost" not in log.split("zk.leadership won")[-1]
    assert status(lab, first)["leader"] == second


def test_without_quorum_no_node_says_it_may_act(zk3: ZkEnsemble, tmp_path: Path) -> None:
    """Two of three ZooKeeper servers gone: /leader is 503 everywhere once the lease ends, and
    /v1/status names no leader and does not claim a verified route."""
    lab = DaemonLab(tmp_path / "lab", zk3.hosts)
    try:
        lab.start_modem()
        lab.start()
        leader = lab.one_leader(30)
        lab.wait("primary settled", lambda: settled(lab, leader, "primary"), 30)
        for server in zk3.servers[:2]:
            server.stop(kill=True)
        lab.wait("no node answers /leader 200", lambda: lab.leaders() == [], lab.session_s * 3)
        for node in lab.names:
            s = status(lab, node)
            assert s["leader"] is None and not s["may_actuate"], s
            assert not s["active"]["verified"], s["active"]
            assert not s["cluster"]["quorum"] and "no ZooKeeper quorum" in s["cluster"]["note"]
    finally:
        lab.close()


ADMIN = "lab-admin-token-000001"


def test_handover_and_a_rolling_restart_page_nobody(zk3: ZkEnsemble, tmp_path: Path) -> None:
    """The lab's notifier sends SMS through the emulated modem and the modem component runs its
    real probe (a follower's reads "held by the leader"). A hand-over and a restart of every node
    in turn send no SMS (the outage's incident, opened before, is not paged again)."""
    lab = DaemonLab(tmp_path / "lab", zk3.hosts, notify=True)
    try:
        lab.start_modem()
        lab.start()
        first = lab.one_leader(30)
        lab.wait("primary in the modem", lambda: lab.forwarded_to() == PRIMARY, 30)
        lab.break_("trunk-a")
        paged = lab.wait("the outage SMS", lambda: [m["text"] for m in lab.outbox()], 30)
        assert len(paged) == 1 and "#1" in paged[0], paged
        lab.wait("secondary settled", lambda: settled(lab, first, "secondary"), 30)
        r = httpx.post(
            f"http://127.0.0.1:{lab.ports[first]}/v1/leader/handover",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        lab.one_leader(10, exclude=first)
        for node in lab.names:  # a rolling restart: SIGTERM, start again, next node
            lab.procs[node].send_signal(signal.SIGTERM)
            assert lab.procs[node].wait(30) == 0
            lab.start(node)
            lab.one_leader(lab.session_s * 6)
        time.sleep(3)  # past a modem probe round of every node
        assert [m["text"] for m in lab.outbox()] == paged, "a leader change paged someone"
        # The incident outlives its leaders: every node lists it, and the leader of the day
        # resolves it under the same number when the trunk is back.
        for node in lab.names:
            code, body = lab.get(node, "/v1/incidents?state=open")
            assert code == 200, body
            assert [i["id"] for i in body] == [1], (node, body)
        # One history: the event log read on any node holds the events of every node's terms.
        code, events = lab.get(lab.names[0], "/v1/events?limit=1000")
        assert code == 200 and len({e["node"] for e in events}) >= 2, events
        lab.restore("trunk-a")
        texts = lab.wait(
            "the resolution SMS",
            lambda: [m["text"] for m in lab.outbox()][len(paged) :],
            60,
        )
        assert len(texts) == 1 and "#1" in texts[0] and "RESOLVED" in texts[0].upper(), texts
    finally:
        lab.close()
