"""kill -9 in the middle of a forwarding change, with a modem taking seconds per +CCFC operation,
then a restart: the restart asks the modem at most once before a write and once after it, writes
only towards the interrupted change's target (the decision never asks for the old route here),
adopts that target when the modem already holds it, and reports the route verified within one
read-back (issue 19).

Both directions (switch primary → secondary, failback secondary → primary), each killed once
while the write is in flight (the emulator drops an operation whose connection dies, so the modem
keeps the old route) and once while the write's read-back is in flight (the write reached the
network). ``hotline run`` and ``hotline modem-sim`` are real processes; the +CCFC operations are
counted in the emulator's transcript.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.controller.crash_lab import NUMBERS, PRIMARY, SECONDARY, CrashLab, Op, ops_text

pytestmark = [pytest.mark.slow, pytest.mark.wall_clock, pytest.mark.timeout(240)]

LATENCY_S = 1.0  # per +CCFC operation: long enough to kill in the middle of one reliably
NUMBER = {"primary": PRIMARY, "secondary": SECONDARY}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[CrashLab]:
    lab = CrashLab(tmp_path, LATENCY_S)
    try:
        lab.start_modem()
        yield lab
    finally:
        lab.close()


def _restart(lab: CrashLab, old: str, target: str) -> list[Op]:
    """Restart after a kill; the +CCFC operations until ``target`` is verified (asserted)."""
    held = lab.settle()  # an operation the modem might still finish has finished
    assert held in (NUMBER[old], NUMBER[target]), held
    since = lab.start_daemon()
    lab.wait_verified(target)
    ops = lab.ccfc_ops(since)
    print(f"restart after {old} -> {target} killed, modem held {NUMBERS[held]}: {ops_text(ops)}")
    writes = [o for o in ops if o.kind == "write"]
    assert all(w.number == NUMBER[target] for w in writes), ops  # never back to the old route
    assert len(writes) <= 1, ops
    if held == NUMBER[target]:  # the interrupted change reached the network: adopted as it is
        assert [str(o) for o in ops] == ["query"], ops
    else:  # one change, written at once after the start-up read, and its one read-back
        assert [str(o) for o in ops] == ["query", f"write {target}", "query"], ops
    assert lab.forwarded_to() == NUMBER[target]
    return ops


def _reasons(lab: CrashLab) -> str:
    return "\n".join(str(e.get("reason", "")) for e in lab.events())


@pytest.mark.parametrize(
    ("switch_kill", "failback_kill"), [("write", "readback"), ("readback", "write")]
)
def test_kill_9_mid_change_then_restart(
    lab: CrashLab, switch_kill: str, failback_kill: str
) -> None:
    lab.start_daemon()
    lab.wait_verified("primary")

    lab.break_("trunk-a")  # primary → secondary
    lab.kill_during(switch_kill, SECONDARY)
    _restart(lab, "primary", "secondary")
    reasons = _reasons(lab)
    assert "interrupted" in reasons and "again" not in reasons, reasons

    lab.restore("trunk-a")  # secondary → primary, after the failback hold
    lab.kill_during(failback_kill, PRIMARY)
    _restart(lab, "secondary", "primary")
    reasons = _reasons(lab)
    assert "not completing the interrupted change" not in reasons, reasons
