"""ZooKeeperCoordinator against a real ZooKeeper: election, lease, fencing, state, intents."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from controller.config import ZooKeeperSettings
from controller.coordination.base import CoordinationError, Coordinator, JsonDoc
from controller.coordination.local import LocalCoordinator
from controller.coordination.zk_bridge import encode
from controller.coordination.zookeeper import ZooKeeperCoordinator
from tests.support.memory_coordinator import MemoryCoordinator
from tests.support.zk_lab import ZkEnsemble

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

SESSION_S = 2.0


def settings(ens: ZkEnsemble, path: str, call_timeout_s: float = 1.0) -> ZooKeeperSettings:
    return ZooKeeperSettings(
        hosts=ens.hosts, path=path, session_timeout_s=SESSION_S, call_timeout_s=call_timeout_s
    )


async def until(cond: Callable[[], bool], timeout: float, step: float = 0.01) -> float:
    """Seconds until ``cond()`` holds; fails the test after ``timeout``."""
    start = time.monotonic()
    for _ in range(int(timeout / step) + 1):
        if cond():
            return time.monotonic() - start
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def the_leader(coords: list[ZooKeeperCoordinator]) -> ZooKeeperCoordinator:
    leaders = [c for c in coords if c.may_actuate()]
    assert len(leaders) == 1, [(c.node, c.is_leader()) for c in coords]
    return leaders[0]


@pytest.fixture
async def trio(zk1: ZkEnsemble, zk_path: str) -> AsyncIterator[list[ZooKeeperCoordinator]]:
    coords = [ZooKeeperCoordinator(settings(zk1, zk_path), f"node-{i}") for i in (1, 2, 3)]
    for c in coords:
        await c.start()
    await until(lambda: sum(c.may_actuate() for c in coords) == 1, 10)
    yield coords
    for c in coords:
        await c.stop()


async def test_exactly_one_leader_and_everyone_knows_it(trio: list[ZooKeeperCoordinator]) -> None:
    await asyncio.sleep(0.5)  # a few heartbeats: still exactly one
    leader = the_leader(trio)
    assert leader.epoch() == 1
    await until(lambda: all(c.leader_name() == leader.node for c in trio), 3)
    assert [c.is_leader() for c in trio].count(True) == 1
    await leader.check_fence()
    for c in trio:
        if c is not leader:
            with pytest.raises(CoordinationError, match="not the leader"):
                await c.check_fence()


async def test_handover_moves_leadership_within_a_second(
    trio: list[ZooKeeperCoordinator],
) -> None:
    old = the_leader(trio)
    started = time.monotonic()
    await old.handover()
    assert not old.may_actuate()  # at once, before anyone else takes over
    took = await until(lambda: any(c.may_actuate() for c in trio if c is not old), 1.0)
    assert time.monotonic() - started < 1.0, took
    new = the_leader(trio)
    assert new is not old and new.epoch() == old.epoch() + 1
    with pytest.raises(CoordinationError):
        await old.check_fence()
    with pytest.raises(CoordinationError, match="not the leader"):
        await old.put("route", {"route": "oncall"})  # a deposed leader cannot write state


async def test_leaving_on_stop_hands_over(trio: list[ZooKeeperCoordinator]) -> None:
    old = the_leader(trio)
    await old.stop()
    rest = [c for c in trio if c is not old]
    assert await until(lambda: any(c.may_actuate() for c in rest), 1.0) < 1.0
    assert the_leader(rest).epoch() == old.epoch() + 1


async def test_shared_state_is_read_by_followers_and_deleted(
    trio: list[ZooKeeperCoordinator],
) -> None:
    leader = the_leader(trio)
    follower = next(c for c in trio if c is not leader)
    assert await follower.get("route") is None
    await leader.put("route", {"route": "secondary", "verified": True, "epoch": leader.epoch()})
    assert await follower.get("route") == {"route": "secondary", "verified": True, "epoch": 1}
    with pytest.raises(CoordinationError, match="not the leader"):
        await follower.put("override", {"target": "oncall"})  # followers submit intents
    await leader.put("override", {"target": "oncall"})
    assert (await follower.get("override") or {})["target"] == "oncall"
    await leader.put("override", None)
    await leader.put("override", None)  # deleting twice is fine
    assert await follower.get("override") is None
    with pytest.raises(CoordinationError, match="bad shared-state key"):
        await leader.get("../epoch")


async def test_a_leader_whose_epoch_moved_on_is_fenced(
    zk1: ZkEnsemble, trio: list[ZooKeeperCoordinator], zk_path: str
) -> None:
    """Someone else's term (here: written by hand) fences the old leader's writes and steps."""
    leader = the_leader(trio)
    await leader.put("route", {"route": "primary"})
    raw = KazooClient(hosts=",".join(zk1.hosts))
    raw.start(timeout=5)
    try:
        raw.set(f"{zk_path}/epoch", encode({"epoch": 99, "leader": "intruder", "znode": "x"}))
        with pytest.raises(CoordinationError, match="fenced"):
            await leader.put("route", {"route": "oncall"})
        assert not leader.may_actuate()
        with pytest.raises(CoordinationError):
            await leader.check_fence()
        data, _ = raw.get(f"{zk_path}/state/route")
        assert data is not None and b"primary" in data  # the fenced write did not land
    finally:
        raw.stop()
        raw.close()


async def test_intents_from_a_follower_run_on_the_leader(
    trio: list[ZooKeeperCoordinator],
) -> None:
    ran: list[tuple[str, JsonDoc]] = []

    def handler_for(node: str) -> Callable[[JsonDoc], asyncio.Future[JsonDoc]]:
        async def handle(doc: JsonDoc) -> JsonDoc:
            ran.append((node, doc))
            if doc.get("action") == "explode":
                raise ValueError("no such route")
            return {"verified": True, "route": doc.get("to"), "by": node}

        return handle  # type: ignore[return-value]

    for c in trio:
        c.set_intent_handler(handler_for(c.node))
    leader = the_leader(trio)
    follower = next(c for c in trio if c is not leader)
    answer = await follower.submit_intent({"action": "failover", "to": "secondary"}, 5.0)
    assert answer == {"verified": True, "route": "secondary", "by": leader.node}
    assert ran == [(leader.node, {"action": "failover", "to": "secondary"})]
    with pytest.raises(CoordinationError, match="no such route"):
        await follower.submit_intent({"action": "explode"}, 5.0)
    # on the leader itself the handler runs directly
    assert (await leader.submit_intent({"action": "pause"}, 5.0))["by"] == leader.node


async def test_an_intent_nobody_executes_is_withdrawn(zk1: ZkEnsemble, zk_path: str) -> None:
    """Without a leader serving intents the caller gets a bounded "not executed"."""
    follower = ZooKeeperCoordinator(settings(zk1, zk_path + "x"), "lonely")
    await follower.start()
    try:
        await until(follower.may_actuate, 5)
        follower.standing.leader = False  # white-box: pretend another node leads but never answers
        started = time.monotonic()
        with pytest.raises(CoordinationError, match="no leader executed"):
            await follower.submit_intent({"action": "pause"}, 0.5)
        assert time.monotonic() - started < 2.0
        names = await follower.call(
            lambda k: k.get_children_async(follower.paths["intents"]), "list"
        )
        assert names == []  # withdrawn: a late leader will not run it
    finally:
        await follower.stop()


async def test_views_are_published_per_node_and_vanish_with_the_node(
    trio: list[ZooKeeperCoordinator],
) -> None:
    for i, c in enumerate(trio):
        await c.publish_view({"components": {"trunk-a": "down" if i == 0 else "up"}})
        await c.publish_view({"components": {"trunk-a": "down" if i == 0 else "up"}, "n": i})
    views = await trio[1].views()
    assert sorted(views) == ["node-1", "node-2", "node-3"]
    assert views["node-1"]["components"]["trunk-a"] == "down"
    await trio[0].stop()
    assert sorted(await trio[1].views()) == ["node-2", "node-3"]


async def test_every_call_has_a_deadline_when_zookeeper_is_frozen(
    zk1: ZkEnsemble, zk_path: str
) -> None:
    """SIGSTOP the only server: may_actuate drops by the lease, calls fail by their deadline."""
    c = ZooKeeperCoordinator(settings(zk1, zk_path, call_timeout_s=0.3), "solo")
    await c.start()
    server = zk1.servers[0]
    try:
        await until(c.may_actuate, 5)
        server.signal(signal.SIGSTOP)
        took = await until(lambda: not c.may_actuate(), c.lease_s + 0.5)
        assert took <= c.lease_s + 0.3
        started = time.monotonic()
        with pytest.raises(CoordinationError):
            await c.get("route")
        assert time.monotonic() - started < 0.3 + 0.2
        with pytest.raises(CoordinationError):
            await c.check_fence()
        assert time.monotonic() - started < 2 * 0.3 + 0.3  # both calls ended by their deadline
    finally:
        server.signal(signal.SIGCONT)
        await c.stop()


async def test_every_backend_is_a_whole_coordinator(tmp_path: Path) -> None:
    """The protocol is complete (callers need no getattr), and the local answers are those of a
    single node that always leads: its epoch is the cluster's, no quorum to lose, no term start."""
    local = LocalCoordinator(tmp_path / "coordination.db", "solo")
    unstarted = ZooKeeperSettings(hosts=("127.0.0.1:1",), path="/hotline/protocol")
    zk = ZooKeeperCoordinator(unstarted, "n1")
    for backend in (local, zk, MemoryCoordinator()):
        assert isinstance(backend, Coordinator), type(backend).__name__
    with pytest.raises(CoordinationError, match="not started"):
        await local.check_fence()
    await local.start()
    try:
        assert local.is_leader() and local.may_actuate() and local.leader_name() == "solo"
        assert local.cluster_epoch() == local.epoch() >= 1
        assert local.term_started() is None and local.quorum_lost_since() is None
        await local.check_fence()
        await local.handover()
        assert local.is_leader()
    finally:
        await local.stop()
    assert zk.quorum_lost_since() is not None  # not started: no round trip has succeeded yet
    assert zk.term_started() is None and zk.cluster_epoch() == zk.epoch() == 0
