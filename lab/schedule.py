"""The seeded, bounded fault schedule: which fault, when, for how long (pure code).

One fault at a time, each followed by a quiet gap, so the oracle can tell what each fault cost.
``KINDS`` lists every fault the injectors (:mod:`lab.faults`) know; a schedule draws ``count`` of
them (each kind once before any repeats, in a seeded order), durations from each kind's range.
Instant faults (a dropped modem link, concurrent manual failovers, a rolling restart) have a
duration of the time their action takes plus the gap.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

# kind → (min, max) seconds the fault lasts; 0 means an instant action
KINDS: dict[str, tuple[float, float]] = {
    "trunk_down": (12, 20),
    "carrier_down": (10, 16),
    "flapping_trunk": (20, 30),
    "pbx_node_down": (10, 16),
    "pbx_cluster_down": (12, 18),
    "lines_down": (12, 18),
    "cluster_down": (10, 15),
    "leader_sigkill": (8, 12),
    "leader_sigstop": (6, 10),
    "zk_server_down": (8, 12),
    "zk_quorum_lost": (8, 12),
    "modem_disconnect": (0, 0),
    "modem_errors": (10, 15),
    "smtp_hung": (10, 15),
    "slow_network": (15, 20),
    "smtp_down": (10, 15),
    "twilio_500": (10, 15),
    "manual_failovers": (0, 0),
    "rolling_restart": (0, 0),
    "handset_off": (10, 15),
}

# The faults that take away the route in force: a call needs the controller to move it. The
# last two take both lines away (every PBX node frozen; both trunks silent): a total outage,
# which only the forward to the on-call technician's mobile survives.
ROUTE_FAULTS = ("trunk_down", "flapping_trunk", "pbx_cluster_down", "lines_down")


@dataclass(frozen=True)
class Fault:
    kind: str
    start: float  # seconds after the schedule starts
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_schedule(
    seed: int,
    total_s: float,
    *,
    kinds: tuple[str, ...] | None = None,
    gap_s: float = 15.0,
    lead_s: float = 10.0,
) -> list[Fault]:
    """Faults that fit in ``total_s``: kinds in a seeded order (all once, then again), each
    followed by ``gap_s`` of quiet; the first starts after ``lead_s``."""
    rng = random.Random(seed)
    pool = list(kinds or KINDS)
    for kind in pool:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
    out: list[Fault] = []
    t = lead_s
    order: list[str] = []
    for _ in range(1000):  # bounded: far more faults than any run holds
        if not order:
            order = rng.sample(pool, len(pool))
        kind = order.pop(0)
        low, high = KINDS[kind]
        duration = round(rng.uniform(low, high), 1)
        if t + duration + gap_s > total_s:
            break
        out.append(Fault(kind, t, duration))
        t += duration + gap_s
    return out
