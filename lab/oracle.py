"""The oracle: what callers got and whether the cluster stayed safe, from records the controller
does not write (pure code over :class:`lab.runner.RunData`).

Sources: the calls as the caller generator saw them (SIP answered, handset answered), the
emulator's forwarding writes (when each arrived and when the network applied it), the relay
opens (which node held the modem when), ZooKeeper's epoch record (who led when), the SMSC's
outbox, the SMTP sink and the local Twilio. The nodes' own ``/v1/status`` is used only to check
what they claim against what the modem held.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lab.callers import Call
from lab.runner import PRIMARY, SECONDARY, RunData
from lab.schedule import ROUTE_FAULTS

LEADER_FAULTS = ("leader_sigkill", "leader_sigstop", "cluster_down", "rolling_restart")
ROUTES = {PRIMARY: "primary", SECONDARY: "secondary"}
CLAIM_GRACE_S = 3.0  # a node's status may lag the modem by one poll and one tick


def route_of(number: str | None) -> str | None:
    if number is None:
        return None
    return ROUTES.get(number, "oncall")


def spread(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "median": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
    }


@dataclass
class Timeline:
    """The voice CFU number in force at the emulated network over time."""

    changes: list[tuple[float, str | None]]  # (applied at, number), in order

    @classmethod
    def from_writes(cls, writes: list[dict[str, Any]]) -> Timeline:
        out: list[tuple[float, str | None]] = []
        for w in sorted(writes, key=lambda w: float(w["t"])):
            number = w["forwarding"]["unconditional"]
            if not out or out[-1][1] != number:
                out.append((float(w["t"]), number))
        return cls(out)

    def at(self, t: float) -> str | None:
        number = None
        for when, n in self.changes:
            if when > t:
                break
            number = n
        return number

    def since(self, t: float) -> float:
        """When the number in force at ``t`` came into force."""
        start = float("-inf")
        for when, _ in self.changes:
            if when > t:
                break
            start = when
        return start


def detection_s(data: RunData) -> float:
    s = data.settings
    return s.probing.detection_s + s.actuation_s


def _windows(data: RunData) -> list[tuple[str, float, float]]:
    return [(p["kind"], float(p["start"]), float(p["end"])) for p in data.played]


def _paths_up(data: RunData, t: float) -> bool:
    active = {k for k, a, b in _windows(data) if a <= t <= b}
    total = bool(active & {"pbx_cluster_down", "lines_down"})
    primary = "trunk_down" not in active and not total
    secondary = not total
    handset = "handset_off" not in active
    return primary or secondary or handset


def reachability(data: RunData) -> dict[str, Any]:
    calls, d = data.calls, detection_s(data)
    changes = sorted(t for _, a, b in _windows(data) for t in (a, b))

    def excused(c: Call) -> bool:
        if not _paths_up(data, c.placed):
            return True
        return any(f <= c.ended and c.placed - f < d for f in changes)

    outside = [c for c in calls if not c.reached and not excused(c)]
    per_kind: dict[str, list[bool]] = {}
    for c in calls:
        kinds = [k for k, a, b in _windows(data) if a - 1 <= c.placed <= b + d] or ["no fault"]
        for k in kinds:
            per_kind.setdefault(k, []).append(c.reached)
    return {
        "placed": len(calls),
        "reached": sum(c.reached for c in calls),
        "per_kind": {k: {"placed": len(v), "reached": sum(v)} for k, v in per_kind.items()},
        "longest_unreached_s": round(_longest_unreached(calls), 2),
        "unreached_outside_windows": [_call_brief(c, data) for c in outside],
        "window_s": round(d, 2),
    }


def _call_brief(c: Call, data: RunData) -> dict[str, Any]:
    """An unreached call with what was going on: the faults active, the last fault change."""
    windows = _windows(data)
    active = [k for k, a, b in windows if a <= c.placed <= b]
    before = [(t, k) for k, a, b in windows for t in (a, b) if t <= c.placed]
    last = max(before, default=None)
    return {
        "t": round(c.placed - data.started, 1),
        "destination": c.destination,
        "target": c.target,
        "detail": c.detail,
        "active_faults": active,
        "last_fault_change": f"{last[1]} {c.placed - last[0]:.1f}s before" if last else None,
    }


def _longest_unreached(calls: list[Call]) -> float:
    longest, first = 0.0, None
    for c in calls:
        if not c.reached:
            first = c.placed if first is None else first
        elif first is not None:
            longest = max(longest, c.placed - first)
            first = None
    if first is not None and calls:
        longest = max(longest, calls[-1].ended - first)
    return longest


def failover_times(data: RunData) -> dict[str, Any]:
    timeline = Timeline.from_writes(data.writes)
    route: dict[str, list[float]] = {}
    leader: dict[str, list[float]] = {}
    for kind, start, end in _windows(data):
        if kind in ROUTE_FAULTS:
            before = timeline.at(start)
            moved = [t for t, n in timeline.changes if start < t <= end + 30 and n != before]
            if moved:
                route.setdefault(kind, []).append(moved[0] - start)
        if kind in LEADER_FAULTS:
            new = [t.since for t in data.terms if start < t.since <= end + 30]
            if new:
                leader.setdefault(kind, []).append(new[0] - start)
    return {
        "route": {k: spread(v) for k, v in route.items()},
        "leader": {k: spread(v) for k, v in leader.items()},
    }


def writer_of(data: RunData, t: float) -> str | None:
    """The node whose relay connection to the modem was open at ``t`` (latest opened)."""
    best: tuple[float, str] | None = None
    for node, events in data.opens.items():
        state: float | None = None
        for when, what in events:
            if when > t:
                break
            state = when if what == "open" else None
        if state is not None and (best is None or state > best[0]):
            best = (state, node)
    return best[1] if best else None


def safety(data: RunData) -> dict[str, Any]:
    violations: list[str] = []
    spans = []
    for w in data.writes:
        received = float(w["received"])
        node = writer_of(data, received)
        terms = [t for t in data.terms if t.since <= received]
        term = terms[-1] if terms else None
        spans.append((received, float(w["t"]), node))
        if term is None or node != term.leader:
            violations.append(
                f"write {w['command']} at +{received - data.started:.2f}s from {node} while "
                f"ZooKeeper's term was {term.epoch if term else None} of "
                f"{term.leader if term else None}"
            )
    for i, (a0, a1, na) in enumerate(spans):
        for b0, b1, nb in spans[i + 1 :]:
            if na != nb and a0 < b1 and b0 < a1:
                at = a0 - data.started
                violations.append(f"two writers at once: {na} and {nb} at +{at:.2f}s")
    timeline = Timeline.from_writes(data.writes)
    for c in data.claims:
        if not c["verified"] or c["route"] is None:
            continue
        held = route_of(timeline.at(c["t"]))
        if held != c["route"] and c["t"] - timeline.since(c["t"]) > CLAIM_GRACE_S:
            violations.append(
                f"{c['node']} claimed a verified {c['route']} at +{c['t'] - data.started:.1f}s; "
                f"the modem held {held}"
            )
    return {"violations": violations, "writes": len(data.writes)}


def alerts(data: RunData) -> dict[str, Any]:
    timeline = Timeline.from_writes(data.writes)
    switches = [t for t, _ in timeline.changes[1:]]
    sms_t = sorted(float(m.get("t", 0)) for m in data.outbox)
    mail_t = sorted(float(m["t"]) for m in data.mails)
    sms_latency = [next((s - t for s in sms_t if s >= t), None) for t in switches]
    mail_latency = [next((m - t for m in mail_t if m >= t), None) for t in switches]
    texts = Counter((m["to"], m["text"]) for m in data.outbox)
    flapping = [
        t for k, a, b in _windows(data) if k == "flapping_trunk" for t in switches if a <= t <= b
    ]
    caused = [
        m["text"][:80]
        for m in data.outbox
        for k, a, b in _windows(data)
        if k in (*LEADER_FAULTS, "zk_server_down", "modem_disconnect")
        and a <= float(m.get("t", 0)) <= b + 10
        and not any(a - 5 <= t <= b + 10 for t in switches)
    ]
    twilio_t = sorted(float(r["t"]) for r in data.twilio if r["mode"] == "201")
    refused = [
        next((x - a for x in twilio_t if a <= x <= b + 30), None)
        for k, a, b in _windows(data)
        if k == "carrier_down"
    ]
    return {
        "carrier_down_to_twilio_s": spread([x for x in refused if x is not None]),
        "sms": len(data.outbox),
        "mails": len(data.mails),
        "twilio": len(data.twilio),
        "duplicate_sms": sum(n - 1 for n in texts.values() if n > 1),
        "switches": len(switches),
        "switches_without_sms_60s": sum(1 for x in sms_latency if x is None or x > 60),
        "switch_to_sms_s": spread([x for x in sms_latency if x is not None and x <= 60]),
        "switch_to_mail_s": spread([x for x in mail_latency if x is not None and x <= 60]),
        "flapping_switches": len(flapping),
        "pages_for_controller_caused_states": caused,
    }


def cost(data: RunData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node, samples in data.usage.items():
        busy = 0.0
        for (_, c0, _), (_, c1, _) in itertools.pairwise(samples):
            if c1 >= c0:
                busy += c1 - c0
        wall = samples[-1][0] - samples[0][0] if len(samples) > 1 else 0.0
        out[node] = {
            "cpu_pct": round(100 * busy / wall, 1) if wall else None,
            "rss_max_mb": round(max(s[2] for s in samples) / 2**20, 1),
        }
    return {"nodes": out, "status_latency_s": spread(data.api_latency)}


def judge(data: RunData) -> dict[str, Any]:
    reach = reachability(data)
    safe = safety(data)
    return {
        "seed": data.settings.seed,
        "duration_s": round(max((c.ended for c in data.calls), default=data.started)
                            - data.started, 1),
        "faults": [{"kind": k, "start": round(a - data.started, 1), "s": round(b - a, 1)}
                   for k, a, b in _windows(data)],
        "reachability": reach,
        "failover": failover_times(data),
        "safety": safe,
        "alerts": alerts(data),
        "cost": cost(data),
        "notes": data.notes,
        "violations": len(safe["violations"]) + len(reach["unreached_outside_windows"]),
    }  # fmt: skip
