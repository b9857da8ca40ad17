"""The failure model on a real 3-server ZooKeeper ensemble.

Three node processes (tests/ha/zk_node.py) each run a ZooKeeperCoordinator and a fake actuator that
appends to one shared transcript after ``check_fence()``: the stand-in for the modem emulator's
AT+CCFC transcript. Each scenario must end with exactly one leader, and the transcript must never
show an actuation with an epoch older than one already seen.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.config import ZooKeeperSettings
from controller.coordination.zookeeper import ZooKeeperCoordinator
from tests.ha.nodes import NodeCluster, stale_actuations
from tests.support.zk_lab import ZkEnsemble

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SESSION_S = 2.0


@pytest.fixture
def cluster(zk3: ZkEnsemble, tmp_path: Path) -> Iterator[NodeCluster]:
    nodes = NodeCluster(zk3.hosts, "/hotline/ha", tmp_path / "nodes", session_s=SESSION_S)
    nodes.dir.mkdir()
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


def acts_after(records: list[dict[str, object]], t: float) -> list[dict[str, object]]:
    return [r for r in records if "act" in r and float(r["t"]) > t]  # type: ignore[arg-type]


def test_sigkill_of_the_leader(cluster: NodeCluster) -> None:
    old = cluster.wait_one_leader(15)
    old_epoch = cluster.status(old)["epoch"]
    cluster.signal(old, signal.SIGKILL)
    killed = time.monotonic()
    cluster.procs[old].wait(timeout=5)
    new = cluster.wait_one_leader(SESSION_S * 3, exclude=old)
    assert new != old
    assert cluster.status(new)["epoch"] > old_epoch
    records = cluster.transcript()
    assert not stale_actuations(records)
    after = acts_after(records, killed)
    assert after and {r["node"] for r in after} == {new}
    first = min(float(r["t"]) for r in after)  # type: ignore[arg-type]
    # the old session must expire first: not before ~1 session timeout, not much after
    assert SESSION_S * 0.5 <= first - killed <= SESSION_S * 4, first - killed


def test_sigstop_of_the_leader_beyond_the_session_timeout(cluster: NodeCluster) -> None:
    old = cluster.wait_one_leader(15)
    old_epoch = cluster.status(old)["epoch"]
    cluster.signal(old, signal.SIGSTOP)
    stopped = time.monotonic()
    new = cluster.wait_one_leader(SESSION_S * 3, exclude=old)
    time.sleep(max(0.0, SESSION_S * 1.75 - (time.monotonic() - stopped)))
    cluster.signal(old, signal.SIGCONT)
    resumed = time.monotonic()
    # the woken node learns it lost (its own status file says so), and never actuates meanwhile
    deadline = time.monotonic() + SESSION_S * 3
    while time.monotonic() < deadline:
        st = cluster.status(old)
        if float(st.get("t", 0)) > resumed + 0.3 and not st.get("leader"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"paused node still believes it leads: {cluster.status(old)}")
    assert cluster.wait_one_leader(SESSION_S * 2) == new
    assert cluster.status(new)["epoch"] > old_epoch
    records = cluster.transcript()
    assert not stale_actuations(records)
    assert not [r for r in acts_after(records, stopped) if r["node"] == old]
    # and once awake it queued up again as a candidate: still a live, following node
    assert cluster.status(old)["leader_name"] == new


def test_loss_of_zookeeper_servers(cluster: NodeCluster, zk3: ZkEnsemble) -> None:
    """Kill the ZK leader, then a second server (no quorum), then bring one back."""
    first = cluster.wait_one_leader(15)
    zk_leader = zk3.leader()
    assert zk_leader is not None
    zk_leader.stop(kill=True)
    lost_one = time.monotonic()
    leader = cluster.wait_one_leader(SESSION_S * 4)
    assert not stale_actuations(cluster.transcript())
    survivors = [s for s in zk3.servers if s.proc is not None]
    survivors[0].stop(kill=True)  # now 1 of 3: no quorum
    # The last server answers reads until it notices the lost quorum (syncLimit ticks); that is
    # safe (no term can be taken without a write). From when it stops serving, a leader's last
    # confirmation is at most one lease old: nobody may actuate after that.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and survivors[1].mode():
        time.sleep(0.02)
    assert survivors[1].mode() == ""
    not_serving = time.monotonic()
    lease = SESSION_S * 0.6
    time.sleep(lease + 1.0)
    assert cluster.leaders() == []
    late = acts_after(cluster.transcript(), not_serving + lease + 0.2)
    assert not late, late
    quiet = time.monotonic()
    survivors[0].start()  # quorum again
    zk3.wait_serving(30, [s for s in zk3.servers if s.proc is not None])
    final = cluster.wait_one_leader(SESSION_S * 6)
    records = cluster.transcript()
    assert not stale_actuations(records)
    assert acts_after(records, quiet), "the cluster must be managed again"
    assert {first, leader, final} <= set(cluster.names) and lost_one < quiet


async def _until(cond: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    for _ in range(int(timeout / 0.005) + 1):
        if cond():
            return time.monotonic() - start
        await asyncio.sleep(0.005)
    raise AssertionError(f"condition not met within {timeout}s")


async def test_suspended_stops_actuating_at_once_and_resumes_once_confirmed(
    zk3: ZkEnsemble,
) -> None:
    """Kill the server the leader talks to: SUSPENDED drops may_actuate well before the lease
    would, and the leader resumes with the same epoch only after reconnecting elsewhere."""
    s = ZooKeeperSettings(hosts=zk3.hosts, path="/hotline/susp", session_timeout_s=SESSION_S)
    coords = [ZooKeeperCoordinator(s, f"c{i}") for i in (1, 2, 3)]
    for c in coords:
        await c.start()
    try:
        await _until(lambda: sum(c.may_actuate() for c in coords) == 1, 10)
        leader = next(c for c in coords if c.may_actuate())
        epoch = leader.epoch()
        await leader.check_fence()  # the lease is fresh: only SUSPENDED can drop it quickly
        server = next(z for z in zk3.servers if z.host == leader.server())
        killed = time.monotonic()
        server.stop(kill=True)

        def suspended() -> list[tuple[float, str, bool]]:
            return [t for t in leader.transitions if t[0] > killed and t[1] == "suspended"]

        await _until(lambda: bool(suspended()), leader.lease_s)
        at, _, may = suspended()[0]
        assert not may, "SUSPENDED must stop actuation at once"
        assert at - killed < leader.lease_s / 2, at - killed  # well before the lease would
        await _until(lambda: sum(c.may_actuate() for c in coords) == 1, SESSION_S * 4)
        if leader.may_actuate():  # the session survived: same term, re-confirmed first
            assert leader.epoch() == epoch
            after = [t[1] for t in leader.transitions if t[0] > at]
            assert "connected" in after and "reconfirmed" in after
            assert after.index("connected") < after.index("reconfirmed")
            assert leader.server() != server.host
        else:  # a slow machine let the session expire: a new term, and only one leader
            assert max(c.epoch() for c in coords) > epoch
        await next(c for c in coords if c.may_actuate()).check_fence()
    finally:
        for c in coords:
            await c.stop()
