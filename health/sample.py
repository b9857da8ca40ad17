"""What one probe run yields: ok or not, how long it took, and a short reason.

A probe never raises for a failure of the world (timeout, refusal, bad reply): it returns a
``ProbeResult`` whose ``reason`` an operator can read (``timeout``, ``503 Service Unavailable``,
``ICMP port unreachable``, ``SNMP noSuchObject``). Exceptions are left for programming errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    reason: str
    latency_ms: float | None = None
    verdict: str = ""
    """"" a normal result; "unknown": this node cannot judge (the component becomes unknown, not
    down: a follower's modem held by the leader); "hold": no new verdict, keep the last one (the
    modem is busy with a long forwarding operation)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """All of a component's probes, run once: ok only when every probe was ok."""

    ok: bool
    reason: str
    latency_ms: float | None
    started: float
    """Monotonic time the sample started (for scheduling and hysteresis timing)."""
    at: datetime
    """UTC wall time the sample finished (what ``ComponentState.since`` reports)."""
    verdict: str = ""
    """As ``ProbeResult.verdict``: "unknown" or "hold" when no probe failed and one said so."""


def combine(results: Sequence[ProbeResult], started: float, at: datetime) -> Sample:
    """One sample from several probe results: the first failure's reason, the slowest latency."""
    failed = [r for r in results if not r.ok]
    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    latency = max(latencies) if latencies else None
    hard = [r for r in failed if not r.verdict]
    if hard:
        reason = "; ".join(r.reason for r in hard)
        return Sample(False, reason, latency, started, at)
    for verdict in ("unknown", "hold"):
        said = [r for r in results if r.verdict == verdict]
        if said:
            return Sample(False, "; ".join(r.reason for r in said), None, started, at, verdict)
    reason = results[0].reason if len(results) == 1 else "ok"
    return Sample(True, reason, latency, started, at)
