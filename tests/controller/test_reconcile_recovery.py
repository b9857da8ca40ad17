"""The start-up path after a crash and the first tick of a new leader, with a counting in-memory
modem: how many forwarding reads and writes each case costs, which route is recorded, and that
a write away from the interrupted change's target happens only when the decision asks for it.
(The same against a real daemon killed with SIGKILL: test_crash_recovery.py.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controller.config import Route
from controller.decide.decision import Override
from controller.loop.state import ChangeMarker, ControllerState, RouteRecord
from controller.notifier.signal import Signal
from health.model import Status
from tests.controller.helpers import Clock, MemoryForwarding, SwitchableCoordinator
from tests.controller.test_reconcile import PRIMARY, SECONDARY, Rig, make_rig


class Counting(MemoryForwarding):
    """Also counts reads, and logs every operation and signal in one sequence."""

    def __init__(self, number: str | None = None) -> None:
        super().__init__(number)
        self.reads = 0
        self.log: list[str] = []

    async def read_forwarding(self) -> str | None:
        self.reads += 1
        self.log.append("read")
        return await super().read_forwarding()

    async def write_forwarding(self, number: str) -> None:
        self.log.append(f"write {number}")
        await super().write_forwarding(number)


async def _crashed(tmp_path: Path, clock: Clock, modem_holds: str) -> Rig:
    """A run that died mid-switch primary → secondary; the modem holds ``modem_holds``."""
    rig = make_rig(tmp_path, clock)
    rig.device = Counting()
    loop = await rig.start()
    await loop.tick()  # primary, verified
    marker = ChangeMarker(Route.SECONDARY, SECONDARY, clock.now, rig.coord.epoch(), "trunk-a down")
    await ControllerState(rig.coord).set_change(marker)
    rig.device.number = modem_holds
    await rig.stop()
    again = Rig(tmp_path, rig.cfg, rig.device, clock)
    again.device.reads, again.device.writes, again.device.log = 0, [], []
    return again


async def test_the_interrupted_target_held_by_the_modem_is_adopted_with_one_read(
    tmp_path: Path,
) -> None:
    clock = Clock()
    rig = await _crashed(tmp_path, clock, SECONDARY)
    rig.health.set("trunk-a", Status.DOWN, clock.advance(1))
    loop = await rig.start()
    await loop.tick()
    assert rig.device.log == ["read"]  # the start-up read is the proof: no write, no re-read
    assert await rig.route() == (Route.SECONDARY, True, False)
    assert await ControllerState(rig.coord).change() is None
    switch = rig.events.list(kind="switch")[-1]
    assert switch.route_to is Route.SECONDARY and "interrupted change's target" in switch.reason
    await rig.stop()


async def test_a_change_that_did_not_reach_the_modem_is_decided_afresh(tmp_path: Path) -> None:
    clock = Clock()
    rig = await _crashed(tmp_path, clock, PRIMARY)
    rig.health.set("trunk-a", Status.DOWN, clock.advance(1))  # still down: the change is due
    loop = await rig.start()
    await loop.tick()
    assert rig.device.log == ["read", f"write {SECONDARY}"]  # written at once, no second query
    assert await rig.route() == (Route.SECONDARY, True, False)
    await rig.stop()


async def test_a_hold_keeps_the_old_route_the_modem_still_holds(tmp_path: Path) -> None:
    clock = Clock()
    rig = await _crashed(tmp_path, clock, PRIMARY)
    rig.health.set("trunk-a", Status.UNKNOWN, clock.advance(1))  # the restart's probes: no data
    loop = await rig.start()
    await loop.tick()
    assert rig.device.log == ["read"]  # nothing written either way
    assert await rig.route() == (Route.PRIMARY, True, False)
    assert await ControllerState(rig.coord).change() is None
    reason = rig.events.list(kind="switch")[-1].reason
    assert "did not reach the modem" in reason and "keeping primary" in reason
    await rig.stop()


async def test_writing_away_from_the_target_only_when_the_decision_requires_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    rig = await _crashed(tmp_path, clock, SECONDARY)
    ov = Override(Route.PRIMARY, "back to primary", "ops", clock.now + timedelta(hours=1))
    loop = await rig.start()
    await ControllerState(rig.coord).set_override(ov)
    await loop.tick()
    assert rig.device.log == ["read", f"write {PRIMARY}"]
    assert await rig.route() == (Route.PRIMARY, True, False)
    reason = rig.events.list(kind="switch")[-1].reason
    assert "not completing the interrupted change to secondary" in reason
    assert "the decision requires primary: manual override by ops" in reason
    await rig.stop()


async def test_an_unreadable_modem_at_start_completes_the_change(tmp_path: Path) -> None:
    clock = Clock()
    rig = await _crashed(tmp_path, clock, PRIMARY)
    rig.device.fail_reads = 1  # the start-up read fails
    rig.health.set("trunk-a", Status.UNKNOWN, clock.advance(1))
    loop = await rig.start()
    await loop.tick()
    assert rig.device.log == ["read", "read", f"write {SECONDARY}"]  # ≤ 1 query before the write
    assert await rig.route() == (Route.SECONDARY, True, False)
    await rig.stop()


async def test_a_new_leader_with_a_verified_record_does_not_query_before_writing(
    tmp_path: Path,
) -> None:
    """Issue 13: taking over with a verified route record and no change marker, the first
    actuation is the write (and its one read-back); keeping the route costs one read."""
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    rig.device = Counting(PRIMARY)
    await rig.start()
    follower = SwitchableCoordinator(rig.coord)
    follower.leader = False
    rig.loop.coord = follower
    await ControllerState(rig.coord).set_route(RouteRecord(Route.PRIMARY, PRIMARY, clock.now, True))
    await rig.loop.tick()  # a follower: nothing
    rig.device.log = []
    follower.leader = True
    await rig.loop.tick()  # takes over, keeps primary: one read verifies
    assert rig.device.log == ["read"]
    follower.leader = False
    await rig.loop.tick()
    follower.leader = True
    rig.health.set("trunk-a", Status.DOWN, clock.advance(1))
    rig.device.log = []
    await rig.loop.tick()  # takes over again; the decision wants secondary: the write first
    assert rig.device.log == [f"write {SECONDARY}"]
    assert await rig.route() == (Route.SECONDARY, True, False)
    await rig.stop()


async def test_a_new_leader_does_not_query_before_its_probes_have_spoken(
    tmp_path: Path,
) -> None:
    """Issue 13: a new leader's first tick, before its term's probe round, holds on unknown health;
    it does not spend a network operation on a drift query then, so the write that the next tick
    makes is the term's first modem operation."""
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    rig.device = Counting(PRIMARY)
    await rig.start()
    follower = SwitchableCoordinator(rig.coord)
    follower.leader = False
    rig.loop.coord = follower
    await ControllerState(rig.coord).set_route(RouteRecord(Route.PRIMARY, PRIMARY, clock.now, True))
    await rig.loop.tick()
    for name in ("trunk-a", "trunk-b"):
        rig.health.set(name, Status.UNKNOWN, clock.advance(1))
    rig.device.log = []
    follower.leader = True
    await rig.loop.tick()  # takes over on unknown health: holds, no query
    assert rig.device.log == []
    rig.health.set("trunk-a", Status.DOWN, clock.advance(1))
    rig.health.set("trunk-b", Status.UP, clock.now)
    await rig.loop.tick()  # the probes have spoken: the write is the first operation
    assert rig.device.log == [f"write {SECONDARY}"]
    await rig.stop()


async def test_alerts_go_after_the_write(tmp_path: Path) -> None:
    """Alert SMS share the modem: a tick's signals are raised only once its change is done."""
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    device = Counting()
    rig.device = device

    class Logged:
        async def signal(self, s: Signal) -> None:
            device.log.append(f"signal {s.key}")

    rig.signals = Logged()  # type: ignore[assignment]
    loop = await rig.start()
    await loop.tick()
    rig.health.set("modem", Status.DOWN, clock.advance(1))  # a signal raised on this tick
    rig.health.set("trunk-a", Status.DOWN, clock.now)  # and a switch made on it
    device.log = []
    await loop.tick()
    assert device.log[0] == f"write {SECONDARY}", device.log
    assert "signal modem" in device.log and "signal route" in device.log
    await rig.stop()


async def test_a_leader_again_pages_what_another_leader_resolved_meanwhile(
    tmp_path: Path,
) -> None:
    """Issue 13: what a node signalled in an earlier term says nothing about now. Node A pages a
    modem fault; B takes over, the modem recovers and B resolves it; the modem fails again and A
    leads again: A must page it, not take it for the fault it still believed active."""
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    await rig.start()
    node = SwitchableCoordinator(rig.coord)
    rig.loop.coord = node
    await rig.loop.tick()
    rig.health.set("modem", Status.DOWN, clock.advance(1))
    await rig.loop.tick()  # A pages
    node.leader = False
    await rig.loop.tick()  # B leads; the modem recovers and fails again meanwhile
    node.leader = True
    await rig.loop.tick()
    pages = [s for s in rig.signals.got if s.key == "modem" and s.active]
    assert len(pages) == 2
    await rig.stop()
