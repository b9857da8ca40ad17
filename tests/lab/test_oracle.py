"""The oracle finds what it must, on hand-made records (no peers): a write from a node that does
not lead, two writers at once, a claimed route the modem did not hold, an unreached call outside
every detection window, and it excuses the calls inside one."""

from __future__ import annotations

from typing import Any

from lab import oracle
from lab.callers import Call
from lab.runner import PRIMARY, SECONDARY, LabSettings, RunData
from lab.schedule import Fault
from lab.watch import Term

T0 = 1_000_000.0


def _write(t: float, number: str, received: float | None = None) -> dict[str, Any]:
    fwd = {"unconditional": number, "busy": None, "no-reply": None, "not-reachable": None}
    return {"t": T0 + t, "received": T0 + (received if received is not None else t - 0.5),
            "connection": "pty", "command": f"+CCFC=0,3,{number}", "forwarding": fwd}  # fmt: skip


def _call(n: int, t: float, reached: bool, number: str = PRIMARY) -> Call:
    return Call(n, "+420601500000", T0 + t, T0 + t + 1, "unconditional", number,
                "sip:trunk-a", reached, "answered" if reached else "timeout")  # fmt: skip


def _data(**kw: Any) -> RunData:
    base: dict[str, Any] = dict(
        settings=LabSettings(seed=7),
        schedule=[Fault("trunk_down", 10, 20)],
        played=[{"kind": "trunk_down", "start": T0 + 10, "end": T0 + 30}],
        calls=[],
        writes=[_write(1, PRIMARY), _write(13, SECONDARY)],
        opens={"node-1": [(T0, "open")], "node-2": []},
        terms=[Term(1, "node-1", T0 - 5)],
        claims=[],
        outbox=[{"to": "+420777000001", "text": "WARNING #1", "t": T0 + 13.5}],
        mails=[],
        twilio=[],
        usage={"node-1": [(T0, 1.0, 50 * 2**20), (T0 + 10, 2.0, 60 * 2**20)]},
        api_latency=[0.01, 0.02],
        notes=[],
        started=T0,
    )
    return RunData(**(base | kw))


def test_a_clean_run_has_no_violation_and_its_figures() -> None:
    calls = [_call(1, 5, True), _call(2, 11, False), _call(3, 16, True, SECONDARY)]
    verdict = oracle.judge(_data(calls=calls))
    assert verdict["violations"] == 0, verdict
    assert verdict["reachability"]["reached"] == 2
    assert verdict["failover"]["route"]["trunk_down"]["max"] == 3.0  # fault at 10, moved at 13
    assert verdict["alerts"]["switch_to_sms_s"]["max"] == 0.5
    assert verdict["cost"]["nodes"]["node-1"]["cpu_pct"] == 10.0


def test_an_unreached_call_long_after_the_fault_is_counted() -> None:
    late = _call(4, 25, False)  # 15 s after the fault: past fall × interval + timeout + actuation
    verdict = oracle.judge(_data(calls=[late]))
    assert [c["t"] for c in verdict["reachability"]["unreached_outside_windows"]] == [25.0]
    assert verdict["violations"] == 1


def test_a_write_from_a_node_not_leading_and_two_writers_at_once() -> None:
    opens = {"node-1": [(T0, "open"), (T0 + 12.9, "close")], "node-2": [(T0 + 12.9, "open")]}
    writes = [_write(1, PRIMARY), _write(13, SECONDARY, received=12.95)]
    verdict = oracle.judge(_data(opens=opens, writes=writes))
    (violation,) = verdict["safety"]["violations"]
    assert "from node-2" in violation and "of node-1" in violation
    both = [_write(1, PRIMARY), _write(13, SECONDARY, received=12.0), _write(13.2, PRIMARY, 12.5)]
    opens = {"node-1": [(T0, "open")], "node-2": [(T0 + 12.4, "open")]}
    terms = [Term(1, "node-1", T0 - 5), Term(2, "node-2", T0 + 12.3)]
    found = oracle.judge(_data(opens=opens, writes=both, terms=terms))["safety"]["violations"]
    assert any("two writers at once" in v for v in found), found


def test_a_verified_route_the_modem_did_not_hold() -> None:
    claims = [{"t": T0 + 8, "node": "node-3", "may_actuate": False, "route": "secondary",
               "verified": True}]  # fmt: skip
    (violation,) = oracle.judge(_data(claims=claims))["safety"]["violations"]
    assert "node-3 claimed a verified secondary" in violation and "held primary" in violation


def test_a_total_outage_leaves_the_on_call_mobile_as_the_path_that_is_up() -> None:
    """Both PBX nodes frozen: a call still unreached past the detection window counts against
    the controller, because the forward to the on-call mobile was a path that was up."""
    played = [{"kind": "pbx_cluster_down", "start": T0 + 10, "end": T0 + 30}]
    late = _call(4, 25, False)
    verdict = oracle.judge(_data(played=played, schedule=[Fault("pbx_cluster_down", 10, 20)],
                                 calls=[late]))  # fmt: skip
    assert [c["t"] for c in verdict["reachability"]["unreached_outside_windows"]] == [25.0]
    assert verdict["failover"]["route"]["pbx_cluster_down"]["max"] == 3.0
