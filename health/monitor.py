"""HealthMonitor: runs every component's probes on its own schedule and keeps the snapshot.

Each component is one asyncio task: sample (all its probes concurrently, bounded by the
component's timeout), feed the rise/fall machine, sleep. Intervals are shortened by jitter (a
factor in ``[1 - jitter, 1]``, so jitter spreads probes without ever stretching the detection
bound) and cut to ``interval × FAST_FACTOR`` while a verdict is pending, like HAProxy's
``fastinter``. Status transitions go to subscribers' queues and the log.

Slots are planned from the previous slot, not from the end of the sample; a sample that overruns
its slot (a timeout longer than the fast re-probe interval) is followed at once by the next one.
So an outage is declared within :func:`detection_bound_s`: ``interval + (fall - 1) ×
max(interval × FAST_FACTOR, timeout) + timeout``, which stays within ``fall × interval + timeout``
whenever ``timeout ≤ interval`` (the controller's config refuses anything else). The schedule
reads the event loop's clock (``loop.time()``, the monotonic clock), so a test can run it on
virtual time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from health.hysteresis import Hysteresis
from health.model import ComponentState, HealthSnapshot, Status
from health.probes import Probe, ProbeContext, build_probe
from health.probes.modem import ModemProbe, ModemStatusSource
from health.sample import ProbeResult, Sample, combine
from health.specs import ComponentSpec, ModemProbeSpec

log = logging.getLogger(__name__)

FAST_FACTOR = 0.25
_GRACE_S = 0.25  # a probe overrunning its own timeout by this much is cut off as a bug
_KEEP_DELAYS = 100_000


class _Component:
    """One component's probes, rise/fall state and schedule."""

    def __init__(
        self, name: str, settings: ComponentSpec, ctx: ProbeContext, modem_missing: bool
    ) -> None:
        self.name = name
        self.settings = settings
        self.probes: list[Probe] = [build_probe(spec, ctx) for spec in settings.probes]
        self.machine = Hysteresis(name, rise=settings.rise, fall=settings.fall)
        self.lock = asyncio.Lock()
        self.disabled = "no modem driver" if modem_missing else ""

    async def pause(self, seconds: float) -> bool:
        """Sleep until the next sample is due, or until a probe's source says something changed
        (a +CREG URC: registration lost); True when woken early."""
        wakes: list[asyncio.Event] = []
        for probe in self.probes:
            wake = probe.wake if isinstance(probe, ModemProbe) else None
            if wake is not None:
                wakes.append(wake)
        if not wakes:
            await asyncio.sleep(seconds)
            return False
        try:
            async with asyncio.timeout(seconds):
                await wakes[0].wait()
        except TimeoutError:
            return False
        for wake in wakes:
            wake.clear()
        return True

    def state(self) -> ComponentState:
        if self.disabled:
            return ComponentState(self.name, Status.UNKNOWN, None, self.disabled)
        return self.machine.state()

    async def sample(self) -> Sample:
        timeout = float(self.settings.timeout_s)
        async with self.lock:
            started = time.monotonic()
            results = await asyncio.gather(*(self._run(p, timeout) for p in self.probes))
            return combine(results, started, datetime.now(UTC))

    async def _run(self, probe: Probe, timeout: float) -> ProbeResult:
        try:
            async with asyncio.timeout(timeout + _GRACE_S):
                return await probe.run(timeout)
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except Exception as exc:  # a bug in a probe must not stop the monitor
            log.exception("probe_error component=%s", self.name)
            return ProbeResult(False, f"probe error: {type(exc).__name__}")


class HealthMonitor:
    """Probes every component concurrently; ``snapshot()`` is the frozen view decide() reads."""

    def __init__(
        self,
        components: Mapping[str, ComponentSpec],
        *,
        modem: ModemStatusSource | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._ctx = ProbeContext(modem)
        self._rng = rng or random.Random()
        self._components = {
            name: _Component(name, settings, self._ctx, modem is None and _uses_modem(settings))
            for name, settings in components.items()
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribers: list[asyncio.Queue[ComponentState]] = []
        self.schedule_delays_s: collections.deque[float] = collections.deque(maxlen=_KEEP_DELAYS)
        """How late each scheduled probe started (actual − planned), for benchmarks."""
        self.samples_taken = 0

    async def start(self) -> None:
        if self._tasks:
            return
        for comp in self._components.values():
            if not comp.disabled:
                self._tasks.append(asyncio.create_task(self._loop(comp), name=f"probe:{comp.name}"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._ctx.close()

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot.of(datetime.now(UTC), (c.state() for c in self._components.values()))

    def state(self, name: str) -> ComponentState:
        return self._components[name].state()

    async def probe_now(self) -> HealthSnapshot:
        """One sample of every component, now; the samples feed rise/fall as usual."""
        active = [c for c in self._components.values() if not c.disabled]
        await asyncio.gather(*(self._take(c) for c in active))
        return self.snapshot()

    def subscribe(self) -> asyncio.Queue[ComponentState]:
        queue: asyncio.Queue[ComponentState] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    async def _take(self, comp: _Component) -> None:
        sample = await comp.sample()
        before = comp.machine.status
        comp.machine = comp.machine.advance(sample)
        self.samples_taken += 1
        if comp.machine.status is not before:
            state = comp.machine.state()
            log.info(
                "component_state component=%s status=%s was=%s reason=%r samples=%d",
                comp.name,
                state.status,
                before,
                state.reason,
                state.samples,
            )
            for queue in self._subscribers:
                queue.put_nowait(state)

    async def _loop(self, comp: _Component) -> None:
        clock = asyncio.get_running_loop().time
        interval = float(comp.settings.interval_s)
        jitter = float(comp.settings.jitter)
        planned = clock() + self._rng.uniform(0, interval * jitter)
        while True:
            if await comp.pause(max(0.0, planned - clock())):
                planned = clock()  # woken by the source (registration changed): sample now
            self.schedule_delays_s.append(clock() - planned)
            await self._take(comp)
            step = interval * (FAST_FACTOR if comp.machine.changing else 1.0)
            planned += step * self._rng.uniform(1 - jitter, 1)
            now = clock()
            if planned < now:  # the sample overran its slot: start the next one right away
                planned = now


def detection_bound_s(spec: ComponentSpec) -> float:
    """The longest time from a peer going silent to the component's ``down`` verdict, for probes
    that end within their timeout: the next slot (≤ interval away), then ``fall`` failed samples,
    each starting a fast re-probe interval after the last or, if it overran that, right after."""
    interval, timeout = float(spec.interval_s), float(spec.timeout_s)
    return interval + (spec.fall - 1) * max(interval * FAST_FACTOR, timeout) + timeout


def _uses_modem(settings: ComponentSpec) -> bool:
    return any(isinstance(p, ModemProbeSpec) for p in settings.probes)
