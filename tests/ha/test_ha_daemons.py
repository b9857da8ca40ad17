"""Three ``hotline run`` daemons on a 3-server ZooKeeper ensemble, sharing one modem emulator.

The emulator's transcript is the witness: every forwarding write (AT+CCFC=0,3,...) comes from the
connection of the node that led at that moment, and none from a node after it was killed or while
it was paused past its session. Each scenario ends with exactly one node answering ``GET /leader``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.daemon_lab import DaemonLab
from tests.support.zk_lab import ZkEnsemble

# The modem-sim process stamps its transcript with the real wall clock, and these tests compare
# those stamps with this process's wall clock: they keep the real one (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.wall_clock]

PRIMARY, SECONDARY = "+420212000001", "+420212000002"
ONCALL = ("+420777000001", "+420777000002")


@pytest.fixture
def lab(zk3: ZkEnsemble, tmp_path: Path) -> Iterator[DaemonLab]:
    lab = DaemonLab(tmp_path / "lab", zk3.hosts)
    try:
        lab.start_modem()
        lab.start()
        yield lab
    finally:
        lab.close()


def writer_of(lab: DaemonLab, number: str, after: float) -> str:
    """The connection that wrote the forward to ``number`` after ``after``."""

    def check() -> str | None:
        hits = [w for t, w, cmd in lab.ccfc_writes() if t > after and number in cmd]
        return hits[-1] if hits else None

    return str(lab.wait(f"a +CCFC write of {number}", check, 30))


def settled(lab: DaemonLab, node: str, route: str) -> bool:
    """``node`` reports ``route`` verified with no change in progress."""
    code, body = lab.get(node, "/v1/status")
    return code == 200 and body["active"]["route"] == route and body["active"]["verified"]


def kill_then_pause(lab: DaemonLab, pause_mid_switch: bool) -> None:
    first = lab.one_leader(20)
    lab.wait("primary in the modem", lambda: lab.forwarded_to() == PRIMARY, 20)

    # The leader acts on a partial outage; remember its modem connection.
    t0 = time.time()
    lab.break_("trunk-a")
    lab.wait("secondary in the modem", lambda: lab.forwarded_to() == SECONDARY, 20)
    first_conn = writer_of(lab, SECONDARY, t0)
    lab.wait("secondary settled", lambda: settled(lab, first, "secondary"), 20)

    # SIGKILL: another node leads, continues from the shared state (no re-actuation of the
    # verified secondary), and acts on the next change.
    lab.signal(first, signal.SIGKILL)
    killed = time.time()
    second = lab.one_leader(lab.session_s * 6, exclude=first)
    time.sleep(1.0)
    assert not [w for t, w, c in lab.ccfc_writes() if t > killed and SECONDARY in c], (
        "the new leader must not re-actuate a verified route"
    )
    lab.break_("trunk-b")  # total outage → on-call mobile
    lab.wait("on-call in the modem", lambda: lab.forwarded_to() in ONCALL, 20)
    second_conn = writer_of(lab, lab.forwarded_to() or "", killed)
    assert second_conn != first_conn
    assert all(w != first_conn for t, w, c in lab.ccfc_writes() if t > killed)
    if not pause_mid_switch:
        lab.wait("on-call settled", lambda: settled(lab, second, "oncall"), 20)

    # SIGSTOP past the session timeout, change the world meanwhile, SIGCONT.
    lab.signal(second, signal.SIGSTOP)
    stopped = time.time()
    third = lab.one_leader(lab.session_s * 6, exclude=second)
    lab.restore("trunk-b")  # secondary is up again: failback from on-call after the 1 s hold
    lab.wait("secondary again", lambda: lab.forwarded_to() == SECONDARY, 20)
    third_conn = writer_of(lab, SECONDARY, stopped)
    lab.signal(second, signal.SIGCONT)
    time.sleep(lab.session_s * 2)
    assert lab.one_leader(lab.session_s * 3) == third
    late = [(t, w, c) for t, w, c in lab.ccfc_writes() if t > stopped and w != third_conn]
    assert not late, f"writes by a stale leader: {late}"
    assert lab.forwarded_to() == SECONDARY


def test_kill_and_pause_of_the_leader_with_one_modem(lab: DaemonLab) -> None:
    kill_then_pause(lab, pause_mid_switch=False)


def test_a_leader_frozen_mid_switch_does_not_write_when_it_wakes(lab: DaemonLab) -> None:
    kill_then_pause(lab, pause_mid_switch=True)


def ccfc_queries(lab: DaemonLab, after: float) -> list[str]:
    """The connections that sent a forwarding *query* (AT+CCFC=0,2) after ``after``."""
    out = []
    for line in lab.transcript_path.read_text(errors="replace").splitlines():
        t, who, direction, data = line.split(" ", 3)
        if float(t) > after and direction == "<" and "+CCFC=0,2" in data:
            out.append(who)
    return out


def test_a_leader_frozen_between_attempts_is_fenced_on_its_retry(lab: DaemonLab) -> None:
    """The leader's first attempt hangs (the modem never answers its query), it is frozen past
    the session, another leader moves the route twice; on waking the first attempt times out and
    the retry must be refused by the fence, not re-apply the stale route."""
    first = lab.one_leader(20)
    lab.wait("primary settled", lambda: settled(lab, first, "primary"), 20)
    t0 = time.time()
    assert lab.control({"cmd": "set_fault", "faults": {"hang_on": "+CCFC"}})["ok"]
    lab.break_("trunk-a")  # the leader goes for secondary; its first query gets no answer
    first_conn = lab.wait("the leader's hanging query", lambda: ccfc_queries(lab, t0), 20)[0]
    lab.signal(first, signal.SIGSTOP)
    stopped = time.time()
    second = lab.one_leader(lab.session_s * 6, exclude=first)
    lab.wait("secondary by the new leader", lambda: lab.forwarded_to() == SECONDARY, 20)
    lab.restore("trunk-a")  # and back: the frozen leader's target is stale now
    lab.wait("primary again", lambda: lab.forwarded_to() == PRIMARY, 20)
    lab.wait("primary settled", lambda: settled(lab, second, "primary"), 20)
    lab.signal(first, signal.SIGCONT)
    time.sleep(lab.session_s * 3)  # its attempt times out (5 s) and the retry comes due
    late = [(t, w, c) for t, w, c in lab.ccfc_writes() if t > stopped and w == first_conn]
    assert not late, f"writes by the frozen leader after waking: {late}"
    assert lab.forwarded_to() == PRIMARY
    assert lab.one_leader(lab.session_s * 3) == second


def test_sigterm_hands_leadership_over_within_a_second(lab: DaemonLab) -> None:
    old = lab.one_leader(20)
    lab.wait("primary in the modem", lambda: lab.forwarded_to() == PRIMARY, 20)
    started = time.time()
    lab.procs[old].send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    new = lab.one_leader(5, exclude=old)
    took = time.monotonic() - t0
    assert took < 1.0, f"hand-over took {took:.2f}s"
    assert lab.procs[old].wait(15) == 0
    assert new != old
    assert not [c for t, _, c in lab.ccfc_writes() if t > started], "nothing to re-actuate"


def test_a_followers_manual_failover_is_executed_by_the_leader(lab: DaemonLab) -> None:
    leader = lab.one_leader(20)
    lab.wait("primary settled", lambda: settled(lab, leader, "primary"), 20)
    follower = next(n for n in lab.names if n != leader)
    started = time.time()
    code, body = lab.post(
        follower, "/v1/failover", {"to": "secondary", "reason": "carrier maintenance", "ttl_s": 600}
    )
    assert code == 200, body
    assert body["accepted"] and body["verified"] and body["route"] == "secondary", body
    assert lab.forwarded_to() == SECONDARY
    writers = {w for t, w, c in lab.ccfc_writes() if t > started}
    assert len(writers) == 1  # one connection wrote: the leader's
    _, status = lab.get(follower, "/v1/status")
    assert status["leader"] == leader and status["mode"] == "override"
