"""What the reconcile loop signals (controller/loop/parts.py), and what the notifier makes of it:
a person's override is a notice naming who and why (no page, not counted by the flap guard); a
pause that holds a dead route pages at once and repeats; a pause ends at its TTL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controller.config import Route
from controller.decide.decision import Override, Pause
from controller.loop.state import ControllerState, PauseRecord
from controller.notifier.service import Notifier
from controller.notifier.signal import Severity, Signal
from controller.notifier.store import NotifierStore
from health.model import Status
from tests.controller.helpers import Clock
from tests.controller.test_reconcile import make_rig
from tests.notifier.helpers import RecordingChannel


class Both:
    """The loop's sink: record each signal, then hand it to a real notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.got: list[Signal] = []
        self.notifier = notifier

    async def signal(self, s: Signal) -> None:
        self.got.append(s)
        await self.notifier.signal(s)


def wire(tmp: Path, rig: object, clock: Clock) -> tuple[Both, RecordingChannel]:
    cfg = rig.cfg  # type: ignore[attr-defined]
    sms = RecordingChannel("modem_sms")
    store = NotifierStore(tmp / "notifier.sqlite3")
    n = Notifier(cfg, cfg.notifier, store, {"modem_sms": sms}, clock=lambda: clock.now)
    both = Both(n)
    rig.signals = both  # type: ignore[attr-defined]
    return both, sms


async def test_an_override_is_a_notice_and_not_counted_as_flapping(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock, failover={"flap_max_switches": 1, "flap_window_s": 900})
    both, sms = wire(tmp_path, rig, clock)
    loop = await rig.start()
    await loop.tick()
    until = clock.now + timedelta(hours=1)
    await loop.state.set_override(
        Override(Route.SECONDARY, "carrier A maintenance", "alice", until)
    )
    await loop.tick()
    assert rig.device.number == "+420212000002"
    (notice,) = [s for s in both.got if s.active]
    assert (notice.key, notice.severity, notice.by, notice.why) == (
        "manual",
        Severity.INFO,
        "alice",
        "carrier A maintenance",
    )
    await both.notifier.run_once()
    (text,) = [m.sms_text for m in sms.sent]
    assert text.startswith("HOTLINE INFO: alice moved calls to the secondary line: carrier A")
    assert both.notifier.store.incidents() == []  # information, not an incident
    assert (await ControllerState(rig.coord).route()).switches == ()  # not in the flap window
    # with one switch allowed per window, an automatic escape is still not "flapping"
    await loop.state.set_override(None)
    await loop.tick()
    assert not [s for s in both.got if s.key == "flapping" and s.active]
    await rig.stop()


async def test_pause_on_a_dead_route_pages_at_once_and_repeats(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock, notifier={"escalation_timeout_s": 3600})
    both, sms = wire(tmp_path, rig, clock)
    loop = await rig.start()
    await loop.tick()
    pause = Pause("PBX upgrade", "bob", clock.now + timedelta(hours=2))
    await loop.state.set_pause(PauseRecord(pause, clock.now))
    await loop.tick()
    rig.health.set("trunk-a", Status.DOWN, clock.advance(5))
    await loop.tick()
    assert rig.device.number == "+420212000001"  # paused: held on the dead primary
    dead = [s for s in both.got if s.key == "paused_dead_route"]
    # told clear once on the term's first tick, then the page
    assert [(s.active, s.severity) for s in dead] == [
        (False, Severity.CRITICAL),
        (True, Severity.CRITICAL),
    ]
    await both.notifier.run_once()
    page = next(m for m in sms.sent if m.kind == "open")
    assert "PAUSED on dead trunk-a: callers reach nothing" in page.sms_text
    assert "Resume: hotline resume." in page.sms_text and ".." not in page.sms_text
    assert page.sms_text.startswith("HOTLINE CRITICAL #1")
    clock.advance(300)  # repeats every 5 min until acknowledged
    await both.notifier.run_once()
    assert [m.kind for m in sms.sent if m.recipient == "alice"][-1] == "remind1"
    await rig.stop()


async def test_a_pause_ends_at_its_ttl_and_the_dead_route_is_left(tmp_path: Path) -> None:
    clock = Clock()
    rig = make_rig(tmp_path, clock)
    both, _ = wire(tmp_path, rig, clock)
    loop = await rig.start()
    await loop.tick()
    pause = Pause("PBX upgrade", "bob", clock.now + timedelta(minutes=10))
    await loop.state.set_pause(PauseRecord(pause, clock.now))
    rig.health.set("trunk-a", Status.DOWN, clock.advance(5))
    await loop.tick()
    assert rig.device.number == "+420212000001"
    clock.advance(600)
    await loop.tick()
    assert rig.device.number == "+420212000002"
    assert [s.active for s in both.got if s.key == "paused_dead_route"] == [False, True, False]
    await rig.stop()


async def test_pause_ttl_default_and_maximum_through_the_service(tmp_path: Path) -> None:
    from tests.controller.test_service import Running

    async with Running(tmp_path) as r:
        f = r.cfg.failover
        await r.svc.pause("PBX upgrade", "ops")
        rec = await ControllerState(r.coord).pause()
        assert rec is not None and rec.pause.until is not None
        assert rec.pause.until - rec.since == timedelta(seconds=f.pause_default_ttl_s)
        await r.svc.pause("forgotten", "ops", ttl_s=10 * f.pause_max_ttl_s)
        rec = await ControllerState(r.coord).pause()
        assert rec is not None and rec.pause.until is not None
        assert rec.pause.until - rec.since == timedelta(seconds=f.pause_max_ttl_s)
        await r.loop.next_tick()
        await r.loop.next_tick()
        assert "paused by ops until" in r.svc.status().reason
