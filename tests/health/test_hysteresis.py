"""Rise/fall hysteresis: pure state machine fed samples."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from health.hysteresis import KEEP_REASONS, Hysteresis
from health.model import Status
from health.sample import ProbeResult, Sample, combine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _sample(ok: bool, i: int, latency: float | None = 1.0) -> Sample:
    reason = "200 OK" if ok else "timeout"
    return Sample(ok, reason, latency if ok else None, float(i), T0 + timedelta(seconds=i))


def _feed(machine: Hysteresis, oks: list[bool]) -> tuple[Hysteresis, list[Status]]:
    seen = []
    for i, ok in enumerate(oks, start=machine.samples):
        machine = machine.advance(_sample(ok, i))
        seen.append(machine.status)
    return machine, seen


def test_starts_unknown_and_rises_after_rise_oks() -> None:
    m = Hysteresis("trunk-a", rise=2, fall=3)
    assert m.state().status is Status.UNKNOWN and m.state().samples == 0
    m, seen = _feed(m, [True, True])
    assert seen == [Status.UNKNOWN, Status.UP]
    assert m.state().since == T0 + timedelta(seconds=1)


def test_falls_only_after_fall_consecutive_failures() -> None:
    m, _ = _feed(Hysteresis("t", rise=2, fall=3), [True, True])
    m, seen = _feed(m, [False, False, True, False, False, False])
    assert seen == [Status.UP] * 5 + [Status.DOWN]
    state = m.state()
    assert state.since == T0 + timedelta(seconds=7)
    assert state.reason == "timeout"
    assert state.reasons[-3:] == ("timeout",) * 3


def test_down_needs_rise_oks_to_recover() -> None:
    m, _ = _feed(Hysteresis("t", rise=2, fall=1), [False])
    assert m.status is Status.DOWN
    m, seen = _feed(m, [True, False, True, True])
    assert seen == [Status.DOWN, Status.DOWN, Status.DOWN, Status.UP]


def test_changing_flags_pending_verdicts() -> None:
    m = Hysteresis("t", rise=2, fall=3)
    assert m.changing  # unknown
    m, _ = _feed(m, [True, True])
    assert not m.changing
    m, _ = _feed(m, [False])
    assert m.changing
    m, _ = _feed(m, [True])
    assert not m.changing


def test_latency_stats_and_reason_history_are_bounded() -> None:
    m = Hysteresis("t", rise=1, fall=1)
    for i in range(50):
        m = m.advance(_sample(True, i, latency=float(i)))
    s = m.state()
    assert s.latency_max_ms == 49.0 and s.latency_p50_ms == 39.5  # last 20: 30..49
    assert len(s.reasons) == KEEP_REASONS and s.samples == 50


def test_combine_reports_first_failures_and_slowest() -> None:
    results = [ProbeResult(True, "200 OK", 3.0), ProbeResult(False, "SNMP noSuchObject", 9.0)]
    s = combine(results, 0.0, T0)
    assert not s.ok and s.reason == "SNMP noSuchObject" and s.latency_ms == 9.0
    assert combine([ProbeResult(True, "200 OK", 2.0)], 0.0, T0).reason == "200 OK"


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 5), st.integers(1, 5))
def test_transitions_only_on_full_runs(oks: list[bool], rise: int, fall: int) -> None:
    """Every status change is preceded by exactly rise oks / fall failures in a row."""
    m = Hysteresis("t", rise=rise, fall=fall)
    for i, ok in enumerate(oks):
        before = m.status
        m = m.advance(_sample(ok, i))
        if m.status is not before:
            need = rise if ok else fall
            assert i + 1 >= need and all(o == ok for o in oks[i + 1 - need : i + 1])
            assert m.status is (Status.UP if ok else Status.DOWN)


def test_default_rise_fall_against_independent_loss_model() -> None:
    """Why retransmission matters, on the pure machine with seeded loss of 30 % per transmission.

    A sample fails only when every one of its ``sends`` transmissions is lost. With one send (no
    retransmission) the default fall=3 takes a healthy trunk down within a few dozen samples
    (0.3³ ≈ 2.7 % per sample); with the 3 sends that T1=500 ms allows in the default 2 s timeout
    a sample fails with 0.3³ and a false down needs 0.3⁹ ≈ 2·10⁻⁵ per sample.
    """
    rng = random.Random(20261125)

    def first_down(sends: int, limit: int) -> int | None:
        m, _ = _feed(Hysteresis("t", rise=2, fall=3), [True, True])
        for i in range(limit):
            ok = any(rng.random() >= 0.3 for _ in range(sends))
            m = m.advance(_sample(ok, i + 2))
            if m.status is Status.DOWN:
                return i
        return None

    no_retransmit = [first_down(1, 2000) for _ in range(20)]
    assert all(d is not None for d in no_retransmit)
    assert sum(d for d in no_retransmit if d is not None) / 20 < 150
    with_retransmit = [first_down(3, 500) for _ in range(20)]
    assert sum(d is None for d in with_retransmit) >= 18
