"""LeaderView on real ZooKeeper: a new term needs fresh probes; the majority rule across nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from controller.config import HotlineConfig
from controller.coordination.zookeeper import ZooKeeperCoordinator
from controller.decide.views import fresh_in_term
from controller.loop.leader_view import LeaderView
from health.model import ComponentState, HealthSnapshot, Status
from tests.ha.daemon_lab import lab_dict
from tests.support.clocks import ticking_from
from tests.support.zk_lab import ZkEnsemble

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLOCK = ticking_from(NOW)  # one clock for every node's snapshots: their views' ages compare


class Probes:
    """A node's own probe results, set by the test (stands in for its HealthMonitor)."""

    def __init__(self, cfg: HotlineConfig) -> None:
        self.states = {
            n: ComponentState(n, Status.UP, NOW, "ok", samples=1) for n in cfg.components
        }

    def probe(self, name: str, status: Status) -> None:
        old = self.states[name]
        self.states[name] = ComponentState(
            name, status, NOW, "timeout" if status is Status.DOWN else "ok", samples=old.samples + 1
        )

    def probe_all(self) -> None:
        for name, st in list(self.states.items()):
            self.probe(name, st.status)

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot.of(CLOCK(), self.states.values())


def test_fresh_in_term_only_trusts_samples_taken_in_the_term() -> None:
    snap = HealthSnapshot.of(
        NOW,
        [
            ComponentState("a", Status.DOWN, NOW, "timeout", samples=5),
            ComponentState("b", Status.UP, NOW, "ok", samples=8),
        ],
    )
    out = fresh_in_term(snap, {"a": 5, "b": 7})
    assert out.get("a").status is Status.UNKNOWN
    assert (
        out.get("a").reason == "new leader: waiting for this term's first probe (was down: timeout)"
    )
    assert out.get("b").status is Status.UP


def config(zk: ZkEnsemble, majority: bool) -> HotlineConfig:
    data = lab_dict()
    data["coordination"] = {
        "backend": "zookeeper",
        "zookeeper": {
            "hosts": list(zk.hosts),
            "path": f"/hotline/lv{int(majority)}",
            "session_timeout_s": 2.0,
            "majority_view": majority,
            "cluster_size": 3,
        },
    }
    return HotlineConfig.model_validate(data)


Trio = list[tuple[ZooKeeperCoordinator, Probes, LeaderView]]


async def make_trio(zk: ZkEnsemble, majority: bool) -> Trio:
    cfg = config(zk, majority)
    assert cfg.coordination.zookeeper is not None
    trio = []
    for i in (1, 2, 3):
        coord = ZooKeeperCoordinator(cfg.coordination.zookeeper, f"n{i}")
        probes = Probes(cfg)
        await coord.start()
        trio.append((coord, probes, LeaderView(probes, coord, cfg, publish_every_s=0.1)))
    for _ in range(100):
        if sum(c.may_actuate() for c, _, _ in trio) == 1:
            break
        await asyncio.sleep(0.05)
    return trio


@pytest.fixture
async def majority_trio(zk1: ZkEnsemble) -> AsyncIterator[Trio]:
    trio = await make_trio(zk1, majority=True)
    yield trio
    for c, _, _ in trio:
        await c.stop()


@pytest.mark.slow
async def test_one_nodes_down_is_unknown_until_a_majority_agrees(majority_trio: Trio) -> None:
    leader = next(t for t in majority_trio if t[0].may_actuate())
    others = [t for t in majority_trio if t is not leader]
    _, probes, view = leader
    view.snapshot()  # the loop's first tick of the term
    probes.probe_all()  # this term's first probe round
    probes.probe("trunk-a", Status.DOWN)
    for _, _, v in majority_trio:
        await v.refresh()
    await view.refresh()
    got = view.snapshot().get("trunk-a")
    assert got.status is Status.UNKNOWN
    assert got.reason.startswith(f"down on {leader[0].node} only (1 of 3 nodes, 2 needed)")
    others[0][1].probe("trunk-a", Status.DOWN)
    await others[0][2].refresh()
    await view.refresh()
    assert view.snapshot().get("trunk-a").status is Status.DOWN
    # The modem: only the leader can see it (the followers' read "held by the leader").
    for _, p, v in others:
        p.probe("modem", Status.UNKNOWN)
        await v.refresh()
    probes.probe("modem", Status.DOWN)
    await view.refresh()
    assert view.snapshot().get("modem").status is Status.DOWN


@pytest.mark.slow
async def test_a_new_leader_waits_for_its_own_probe_round(zk1: ZkEnsemble) -> None:
    trio = await make_trio(zk1, majority=False)
    try:
        old = next(t for t in trio if t[0].may_actuate())
        for _, probes, view in trio:
            probes.probe("trunk-b", Status.DOWN)  # seen by every node as followers
            view.snapshot()
        await old[0].handover()
        for _ in range(100):
            if any(c.may_actuate() for c, _, _ in trio if c is not old[0]):
                break
            await asyncio.sleep(0.01)
        new = next(t for t in trio if t[0].may_actuate())
        assert new is not old
        first = new[2].snapshot()
        assert first.get("trunk-b").status is Status.UNKNOWN
        assert "waiting for this term's first probe" in first.get("trunk-b").reason
        new[1].probe_all()
        assert new[2].snapshot().get("trunk-b").status is Status.DOWN
        # a follower's view is passed through untouched
        follower = next(t for t in trio if not t[0].is_leader())
        assert follower[2].snapshot().get("trunk-b").status is Status.DOWN
    finally:
        for c, _, _ in trio:
            await c.stop()
