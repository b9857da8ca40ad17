"""HAProxy-style rise/fall hysteresis as a pure state machine.

``fall`` consecutive failed samples take a component down and ``rise`` consecutive good ones bring
it up, so one lost packet never flips a route. A component starts ``unknown`` and takes its first
verdict the same way (``rise`` oks → up, ``fall`` failures → down). No clock and no I/O: the sample
carries its own UTC time, which becomes ``since`` on a transition.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

from health.model import ComponentState, Status
from health.sample import Sample

KEEP_REASONS = 5
KEEP_LATENCIES = 20


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """One component's running state. ``advance`` returns a new one; nothing mutates."""

    name: str
    rise: int
    fall: int
    status: Status = Status.UNKNOWN
    since: Sample | None = None
    ok_run: int = 0
    fail_run: int = 0
    samples: int = 0
    last: Sample | None = None
    reasons: tuple[str, ...] = ()
    latencies: tuple[float, ...] = ()

    def advance(self, sample: Sample) -> Hysteresis:
        if sample.verdict == "hold":  # no new verdict: keep the last one as it stands
            return replace(self, samples=self.samples + 1)
        if sample.verdict == "unknown":  # this node cannot judge: unknown, never down
            since = self.since if self.status is Status.UNKNOWN else sample
            return replace(
                self, status=Status.UNKNOWN, since=since, ok_run=0, fail_run=0,
                samples=self.samples + 1, last=sample,
                reasons=(*self.reasons, sample.reason)[-KEEP_REASONS:],
            )  # fmt: skip
        ok_run = self.ok_run + 1 if sample.ok else 0
        fail_run = 0 if sample.ok else self.fail_run + 1
        status, since = self.status, self.since
        if sample.ok and ok_run >= self.rise and status is not Status.UP:
            status, since = Status.UP, sample
        elif not sample.ok and fail_run >= self.fall and status is not Status.DOWN:
            status, since = Status.DOWN, sample
        latencies = self.latencies
        if sample.ok and sample.latency_ms is not None:
            latencies = (*latencies, sample.latency_ms)[-KEEP_LATENCIES:]
        return replace(
            self,
            status=status,
            since=since,
            ok_run=ok_run,
            fail_run=fail_run,
            samples=self.samples + 1,
            last=sample,
            reasons=(*self.reasons, sample.reason)[-KEEP_REASONS:],
            latencies=latencies,
        )

    @property
    def changing(self) -> bool:
        """True while a verdict is pending: the monitor re-probes faster then."""
        if self.status is Status.UNKNOWN:
            return True
        if self.status is Status.UP:
            return self.fail_run > 0
        return self.ok_run > 0

    def state(self) -> ComponentState:
        last = self.last
        return ComponentState(
            name=self.name,
            status=self.status,
            since=self.since.at if self.since is not None else None,
            reason=last.reason if last is not None else "",
            latency_ms=last.latency_ms if last is not None else None,
            reasons=self.reasons,
            latency_p50_ms=statistics.median(self.latencies) if self.latencies else None,
            latency_max_ms=max(self.latencies) if self.latencies else None,
            samples=self.samples,
            last_at=last.at if last is not None else None,
        )
