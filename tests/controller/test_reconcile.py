"""The reconcile loop with an in-memory forwarding device, a settable health source and a
hand-driven clock: each outage kind gives the right verified route, failures stay failed,
drift is restored, and an interrupted change is completed after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import HotlineConfig, Route
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.local import LocalCoordinator
from controller.loop.actuators.base import Actuator
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.reconcile import Reconciler
from controller.loop.state import ChangeMarker, ControllerState
from controller.notifier.signal import Signal
from health.model import Status
from tests.controller.helpers import Clock, FakeHealth, MemoryForwarding, lab_config

PRIMARY, SECONDARY, ALICE = "+420212000001", "+420212000002", "+420777000001"
FAST_MODEM = [{"type": "modem", "retries": 2, "backoff_s": 0.01, "timeout_s": 5}]


class Signals:
    def __init__(self) -> None:
        self.got: list[Signal] = []

    async def signal(self, s: Signal) -> None:
        self.got.append(s)


class Rig:
    def __init__(self, tmp: Path, cfg: HotlineConfig, device: MemoryForwarding, clock: Clock):
        self.tmp, self.cfg, self.device, self.clock = tmp, cfg, device, clock
        self.health = FakeHealth(cfg, clock.now)
        self.signals = Signals()

    async def start(self) -> Reconciler:
        self.coord = LocalCoordinator(self.tmp / "state.db", "test-1")
        await self.coord.start()
        self.events = EventStore(self.tmp / "events.db")
        acts: list[Actuator] = [
            ModemActuator(s, self.device)
            for s in self.cfg.actuators
            if isinstance(s, ModemActuatorSettings)
        ]
        self.loop = Reconciler(
            self.cfg, self.health, self.coord, self.events, acts, self.signals, self.clock
        )
        await self.loop.start_up()
        return self.loop

    async def stop(self) -> None:
        await self.coord.stop()
        self.events.close()

    async def route(self) -> tuple[Route | None, bool, bool]:
        rec = await ControllerState(self.coord).route()
        return rec.route, rec.verified, rec.failed


def make_rig(tmp_path: Path, clock: Clock, **cfg_sections: object) -> Rig:
    sections: dict[str, object] = {"actuators": FAST_MODEM}
    sections.update(cfg_sections)
    return Rig(tmp_path, lab_config(**sections), MemoryForwarding(), clock)


async def test_each_outage_kind_reaches_its_verified_route(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    assert rig.device.number == PRIMARY
    assert await rig.route() == (Route.PRIMARY, True, False)

    rig.health.set("trunk-a", Status.DOWN, clock.advance(10))
    await loop.tick()
    assert rig.device.number == SECONDARY
    assert await rig.route() == (Route.SECONDARY, True, False)

    rig.health.set("pbx-1", Status.DOWN, clock.advance(10))
    rig.health.set("pbx-2", Status.DOWN, clock.now)
    await loop.tick()
    assert rig.device.number == ALICE
    assert await rig.route() == (Route.ONCALL, True, False)

    # Recovery: back to primary only after the failback hold (5 s in the lab config).
    for name in ("trunk-a", "pbx-1", "pbx-2"):
        rig.health.set(name, Status.UP, clock.advance(1))
    await loop.tick()
    assert rig.device.number == ALICE
    clock.advance(6)
    await loop.tick()
    assert rig.device.number == PRIMARY
    switches = rig.events.list(kind="switch")
    assert [(e.route_to, e.outcome) for e in switches] == [
        (Route.PRIMARY, "ok"),
        (Route.SECONDARY, "ok"),
        (Route.ONCALL, "ok"),
        (Route.PRIMARY, "ok"),
    ]
    assert "trunk-a down" in switches[1].reason
    route_signals = [(s.active, s.route) for s in rig.signals.got if s.key == "route"]
    # The first verified primary of a term tells "calls on primary" once: it resolves an outage
    # an earlier leader left open (the notifier ignores it when there is none).
    assert route_signals == [
        (False, "primary"),
        (True, "secondary"),
        (True, "oncall"),
        (False, "primary"),
    ]
    await rig.stop()


async def test_a_failed_step_is_not_reported_as_switched_and_is_retried(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock, reconcile={"retry_failed_s": 10})
    loop = await rig.start()
    await loop.tick()
    rig.device.fail_writes = 3  # one attempt + two retries
    rig.health.set("trunk-a", Status.DOWN, clock.advance(10))
    await loop.tick()
    assert rig.device.number == PRIMARY
    assert await rig.route() == (Route.PRIMARY, True, True)
    failed = rig.events.list(kind="switch")[-1]
    assert failed.outcome == "failed" and failed.route_to is Route.SECONDARY
    assert "network timeout" in failed.reason
    alert = [s for s in rig.signals.got if s.key == "actuation_failed"]
    assert alert and alert[-1].active
    clock.advance(5)
    await loop.tick()  # too early for a retry
    assert rig.device.number == PRIMARY
    clock.advance(6)
    await loop.tick()
    assert rig.device.number == SECONDARY
    assert await rig.route() == (Route.SECONDARY, True, False)
    assert not [s for s in rig.signals.got if s.key == "actuation_failed"][-1].active
    await rig.stop()


async def test_drift_in_the_modem_is_restored_and_recorded(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock, reconcile={"drift_check_s": 30})
    loop = await rig.start()
    await loop.tick()
    rig.device.number = "+420999888777"  # someone re-forwarded the SIM by hand
    clock.advance(10)
    await loop.tick()
    assert rig.device.number == "+420999888777"  # not checked yet
    clock.advance(25)
    await loop.tick()
    assert rig.device.number == PRIMARY
    drift = rig.events.list(kind="drift")
    assert len(drift) == 1 and "+420999888777" in drift[0].reason
    assert loop.view.observed == "primary"
    await rig.stop()


async def test_on_call_change_re_forwards_to_the_new_mobile(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    for name in ("trunk-a", "trunk-b"):
        rig.health.set(name, Status.DOWN, clock.now)
    await loop.tick()
    assert rig.device.number == ALICE
    clock.advance(7 * 86400)  # the weekly rotation hands over to bob
    await loop.tick()
    assert rig.device.number == "+420777000002"
    await rig.stop()


async def test_dry_run_decides_and_logs_without_touching_the_modem(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock, reconcile={"dry_run": True})
    rig.device.number = PRIMARY
    loop = await rig.start()
    rig.health.set("trunk-a", Status.DOWN, clock.advance(1))
    await loop.tick()
    assert rig.device.writes == []
    last = rig.events.list(kind="switch")[-1]
    assert (last.route_to, last.outcome) == (Route.SECONDARY, "dry-run")
    assert await rig.route() == (Route.SECONDARY, False, False)
    await rig.stop()


async def test_an_interrupted_change_is_completed_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    # The last run died between writing the marker and verifying: the modem already forwards to
    # the secondary line, the record still says primary.
    await ControllerState(rig.coord).set_change(
        ChangeMarker(Route.SECONDARY, SECONDARY, clock.now, rig.coord.epoch(), "trunk-a down")
    )
    rig.device.number = SECONDARY
    await rig.stop()

    rig2 = Rig(tmp_path, rig.cfg, rig.device, clock)
    rig2.health.set("trunk-a", Status.DOWN, clock.advance(1))
    loop2 = await rig2.start()
    assert rig2.coord.epoch() == rig.coord.epoch() + 1
    await loop2.tick()
    assert await rig2.route() == (Route.SECONDARY, True, False)
    assert await ControllerState(rig2.coord).change() is None
    kinds = [e.kind for e in rig2.events.list(limit=50)]
    assert "recovery" in kinds and "observed" not in kinds  # the marker's target, adopted
    assert rig.device.writes == [PRIMARY]  # no write after the restart
    await rig2.stop()


async def test_start_up_adopts_the_route_the_modem_holds(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    rig.device.number = SECONDARY
    await rig.start()
    assert await rig.route() == (Route.SECONDARY, True, False)
    await rig.stop()


@pytest.mark.parametrize("bad", ["+420;+CFUN=0", "12345", ""])
async def test_a_non_e164_number_never_reaches_the_device(tmp_path: Path, bad: str) -> None:
    from controller.loop.actuators.base import RouteTarget, run_step

    device = MemoryForwarding()
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), device)
    out = await run_step(act, RouteTarget(Route.ONCALL, bad, "test", 1))
    assert out.outcome == "failed" and "E.164" in out.detail
    assert device.writes == []


async def test_a_deposed_leader_stops_before_the_next_step(tmp_path: Path) -> None:
    from tests.controller.helpers import SwitchableCoordinator

    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    fenced = SwitchableCoordinator(rig.coord)
    loop.coord = fenced
    fenced.fence_ok = False
    rig.health.set("trunk-a", Status.DOWN, clock.advance(5))
    await loop.tick()
    assert fenced.fence_checks == 1
    assert rig.device.number == PRIMARY  # nothing touched
    last = rig.events.list(kind="switch")[-1]
    assert last.outcome == "fenced" and "superseded" in last.reason
    assert (await ControllerState(rig.coord).change()) is not None  # left for the next leader
    fenced.leader = False
    await loop.tick()  # a follower does not act at all
    assert rig.device.number == PRIMARY and fenced.fence_checks == 1
    await rig.stop()


async def test_modem_health_raises_and_clears_its_signal_once(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    rig.health.set("modem", Status.DOWN, clock.advance(1))
    await loop.tick()
    await loop.tick()
    rig.health.set("modem", Status.UP, clock.advance(1))
    await loop.tick()
    modem = [(s.active, s.severity) for s in rig.signals.got if s.key == "modem"]
    # The first tick of a term tells each condition once (a clear may close an earlier
    # leader's incident), then only changes.
    assert modem == [(False, "critical"), (True, "critical"), (False, "critical")]
    await rig.stop()


async def test_a_leader_deposed_between_retries_does_not_write_again(tmp_path: Path) -> None:
    """The fence is checked before every apply attempt, retries included (issue 7)."""
    from tests.controller.helpers import SwitchableCoordinator

    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    fenced = SwitchableCoordinator(rig.coord)
    loop.coord = fenced
    real_check = fenced.check_fence

    async def deposed_after_first_attempt() -> None:
        await real_check()
        fenced.fence_ok = False  # another node leads from now on

    fenced.check_fence = deposed_after_first_attempt  # type: ignore[method-assign]
    rig.device.fail_writes = 1  # the first attempt fails, so run_step would retry
    rig.health.set("trunk-a", Status.DOWN, clock.advance(5))
    await loop.tick()
    assert fenced.fence_checks == 2  # before attempt 1 and before the retry
    assert rig.device.writes == [PRIMARY] and rig.device.number == PRIMARY  # the first tick's
    last = rig.events.list(kind="switch")[-1]
    assert last.outcome == "fenced" and "before attempt 2" in last.reason
    assert (await ControllerState(rig.coord).change()) is not None  # left for the next leader
    await rig.stop()


async def test_a_follower_starting_up_does_not_adopt_the_modems_route(tmp_path: Path) -> None:
    """Only the leader writes the shared route record: a follower that starts while the modem
    already forwards somewhere else than the record says must start, not crash on the write."""
    from controller.coordination.base import CoordinationError
    from tests.controller.helpers import SwitchableCoordinator

    class Follower(SwitchableCoordinator):
        async def put(self, key: str, value: object) -> None:
            raise CoordinationError(f"put {key} refused: not the leader")

    clock = Clock()
    rig = make_rig(tmp_path, clock)
    rig.device.number = SECONDARY
    rig.coord = LocalCoordinator(tmp_path / "state.db", "test-1")
    await rig.coord.start()
    follower = Follower(rig.coord)
    follower.leader = False
    rig.events = EventStore(tmp_path / "events.db")
    acts: list[Actuator] = [ModemActuator(ModemActuatorSettings(type="modem"), rig.device)]
    loop = Reconciler(rig.cfg, rig.health, follower, rig.events, acts, rig.signals, clock)
    await loop.start_up()  # raised CoordinationError before the fix
    assert loop.view.observed_number == SECONDARY and loop.view.observed == "secondary"
    assert (await rig.route())[0] is None  # nothing adopted: the leader decides
    await rig.stop()


async def test_an_expired_override_is_cleared_and_recorded_once(tmp_path: Path) -> None:
    from datetime import timedelta

    from controller.decide.decision import Override

    clock = Clock()
    rig = make_rig(tmp_path, clock)
    loop = await rig.start()
    await loop.tick()
    until = clock.now + timedelta(seconds=60)
    await loop.state.set_override(Override(Route.SECONDARY, "carrier works", "ops", until))
    await loop.tick()
    assert rig.device.number == SECONDARY
    clock.advance(61)
    await loop.tick()
    await loop.tick()
    assert rig.device.number == PRIMARY
    assert await loop.state.override() is None
    expired = [e for e in rig.events.list(kind="manual") if e.outcome == "expired"]
    assert [(e.reason, e.who, e.route_to) for e in expired] == [
        ("override to secondary by ops expired", "ops", Route.SECONDARY)
    ]
    decisions = [(e.route_to, e.reason) for e in rig.events.list(kind="decision")][2:]
    assert decisions == [  # decide() says why the override no longer applies (README rule 1b)
        (
            Route.PRIMARY,
            "override to secondary by ops expired; primary healthy for 1m01s; "
            "failing back from secondary",
        ),
        (Route.PRIMARY, "primary healthy"),
    ]
    switches = rig.events.list(kind="switch")
    assert [e.route_to for e in switches] == [Route.PRIMARY, Route.SECONDARY, Route.PRIMARY]
    await rig.stop()
