"""HealthMonitor: schedules, rise/fall, subscriptions, probe_now and composites, on loopback."""

from __future__ import annotations

import asyncio
import os
import random
import selectors
import socket
import time
from typing import Any

import pytest

from controller.config import ComponentSettings
from health.model import HealthSnapshot, Status, all_of, at_least
from health.monitor import HealthMonitor, detection_bound_s
from health.sample import ProbeResult


def trunk(port: int, **kw: Any) -> ComponentSettings:
    uri = f"sip:127.0.0.1:{port};transport=udp"
    settings: dict[str, Any] = {
        "kind": "trunk",
        "probes": [{"type": "sip", "uri": uri, "t1_ms": kw.pop("t1_ms", 1000)}],
        "interval_s": 0.2,
        "timeout_s": 0.1,
    }
    settings.update(kw)
    return ComponentSettings.model_validate(settings)


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Switch:
    """A responder script that answers while ``on`` and is silent otherwise."""

    def __init__(self, reply: Any) -> None:
        self.on = True
        self.reply = reply

    def __call__(self, req: bytes) -> list[tuple[float, bytes]]:
        return [(0, self.reply(req))] if self.on else []


async def next_change(queue: asyncio.Queue[Any], timeout: float = 5.0) -> Any:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_rises_then_falls_and_notifies(scripted_udp, reply) -> None:
    switch = Switch(reply)
    _, port = await scripted_udp(switch)
    monitor = HealthMonitor({"trunk-a": trunk(port)}, rng=random.Random(1))
    changes = monitor.subscribe()
    assert monitor.snapshot().get("trunk-a").status is Status.UNKNOWN
    await monitor.start()
    try:
        up = await next_change(changes)
        assert (up.name, up.status, up.reason) == ("trunk-a", Status.UP, "200 OK")
        assert up.samples == 2 and up.since is not None and up.latency_p50_ms is not None
        switch.on = False
        down = await next_change(changes)
        assert down.status is Status.DOWN and down.reason.startswith("timeout")
        assert down.reasons[-3:] == (down.reason,) * 3
        snap = monitor.snapshot()
        assert isinstance(snap, HealthSnapshot) and snap.get("trunk-a").status is Status.DOWN
        switch.on = True
        assert (await next_change(changes)).status is Status.UP
    finally:
        await monitor.stop()


async def test_fast_reprobe_detects_outage_well_within_bound(scripted_udp, reply) -> None:
    """interval 1 s, fall 3: without fast re-probing detection could take > 2 s."""
    switch = Switch(reply)
    _, port = await scripted_udp(switch)
    settings = trunk(port, interval_s=1.0, timeout_s=0.1, rise=1)
    monitor = HealthMonitor({"t": settings}, rng=random.Random(2))
    changes = monitor.subscribe()
    await monitor.start()
    try:
        assert (await next_change(changes)).status is Status.UP
        await asyncio.sleep(0.3)
        switch.on = False
        outage = time.monotonic()
        assert (await next_change(changes)).status is Status.DOWN
        detected = time.monotonic() - outage
    finally:
        await monitor.stop()
    # With fast re-probing: ≤ interval + timeout + 2 × interval/4 ≈ 1.6 s. Without it, three
    # samples at least 0.9 s apart (jitter) could not finish before 1.9 s.
    assert detected < 1.85 < settings.fall * settings.interval_s + settings.timeout_s


async def test_probe_now_feeds_hysteresis_without_start(scripted_udp, reply) -> None:
    _, port = await scripted_udp(lambda req: [(0, reply(req))])
    monitor = HealthMonitor({"a": trunk(port), "b": trunk(closed_udp_port(), fall=2)})
    first = await monitor.probe_now()
    assert first.get("a").status is Status.UNKNOWN and first.get("a").samples == 1
    assert first.get("b").reason == "ICMP port unreachable"
    second = await monitor.probe_now()
    assert second.get("a").status is Status.UP and second.get("b").status is Status.DOWN
    await monitor.stop()


async def test_composites_over_monitor_snapshot(scripted_udp, reply) -> None:
    _, port = await scripted_udp(lambda req: [(0, reply(req))])
    components = {
        "trunk-a": trunk(port, rise=1, fall=1),
        "pbx-1": trunk(port, rise=1, fall=1),
        "pbx-2": trunk(closed_udp_port(), rise=1, fall=1),
    }
    monitor = HealthMonitor(components)
    snap = await monitor.probe_now()
    await monitor.stop()
    assert at_least(snap, ["pbx-1", "pbx-2"], 1).status is Status.UP
    two = at_least(snap, ["pbx-1", "pbx-2"], 2)
    assert two.status is Status.DOWN and "pbx-2 down (ICMP port unreachable)" in two.detail
    assert all_of(snap, ["trunk-a", "pbx-1"]).status is Status.UP
    assert all_of(snap, ["trunk-a", "pbx-2"]).status is Status.DOWN


async def test_modem_component_without_driver_is_unknown() -> None:
    modem = ComponentSettings.model_validate(
        {"kind": "modem", "probes": [{"type": "modem"}], "interval_s": 1, "timeout_s": 1}
    )
    monitor = HealthMonitor({"modem": modem})
    await monitor.start()
    snap = await monitor.probe_now()
    await monitor.stop()
    state = snap.get("modem")
    assert (state.status, state.reason, state.samples) == (Status.UNKNOWN, "no modem driver", 0)


async def test_modem_component_with_source() -> None:
    class Source:
        async def status(self) -> Any:
            from types import SimpleNamespace

            return SimpleNamespace(
                sim_ready=True, registered=True, roaming=False, signal_dbm=-80, operator=None
            )

    modem = ComponentSettings.model_validate(
        {"kind": "modem", "probes": [{"type": "modem"}], "rise": 1, "interval_s": 1, "timeout_s": 1}
    )
    monitor = HealthMonitor({"modem": modem}, modem=Source())
    snap = await monitor.probe_now()
    await monitor.stop()
    assert (snap.get("modem").status, snap.get("modem").reason) == (
        Status.UP,
        "registered home, -80 dBm",
    )


async def test_all_probes_must_pass_and_stop_releases_sockets(scripted_udp, reply) -> None:
    fds = len(os.listdir("/proc/self/fd"))
    _, port = await scripted_udp(lambda req: [(0, reply(req))])
    both = ComponentSettings.model_validate(
        {
            "kind": "carrier",
            "probes": [
                {"type": "sip", "uri": f"sip:127.0.0.1:{port}"},
                {"type": "command", "argv": ["/bin/false"]},
            ],
            "rise": 1,
            "fall": 1,
        }
    )
    monitor = HealthMonitor({"carrier-a": both})
    await monitor.start()
    snap = await monitor.probe_now()
    await monitor.stop()
    state = snap.get("carrier-a")
    assert (state.status, state.reason) == (Status.DOWN, "exit 1")
    assert len(os.listdir("/proc/self/fd")) <= fds + 1  # only the scripted peer's socket remains


# ---- the detection bound, on virtual time -----------------------------------------------------


class _VirtualSelector(selectors.DefaultSelector):
    """``select`` never waits: it moves the virtual clock to the next timer instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if not ready and timeout is not None and timeout > 0:
            self.now += timeout
        return ready


class _VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: ``time()``, ``sleep`` and timeouts cost no real time."""

    def __init__(self) -> None:
        self.virtual = _VirtualSelector()
        super().__init__(self.virtual)

    def time(self) -> float:
        return self.virtual.now


class _Peer:
    """A probe of a peer that answers in 10 ms until ``silent_from``, then only times out."""

    def __init__(self, silent_from: float) -> None:
        self.silent_from = silent_from

    async def run(self, timeout: float) -> ProbeResult:
        loop = asyncio.get_running_loop()
        if loop.time() + 0.01 < self.silent_from:
            await asyncio.sleep(0.01)
            return ProbeResult(True, "200 OK", 10.0)
        await asyncio.sleep(timeout)
        return ProbeResult(False, "timeout")


def _time_to_down(spec: ComponentSettings, silent_from: float, seed: int) -> float:
    async def scenario() -> float:
        monitor = HealthMonitor({"c": spec}, rng=random.Random(seed))
        monitor._components["c"].probes = [_Peer(silent_from)]  # the schedule is under test
        changes = monitor.subscribe()
        await monitor.start()
        try:
            while True:  # bounded by the wait_for: a verdict must come
                state = await asyncio.wait_for(changes.get(), silent_from + 1000)
                if state.status is Status.DOWN:
                    return asyncio.get_running_loop().time() - silent_from
        finally:
            await monitor.stop()

    loop = _VirtualLoop()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("interval", "timeout", "fall"),
    [(5.0, 2.0, 3), (5.0, 4.0, 3), (5.0, 5.0, 3), (5.0, 1.0, 3), (1.0, 0.5, 1), (2.0, 2.0, 5)],
)
def test_an_outage_is_declared_within_the_stated_bound(
    interval: float, timeout: float, fall: int
) -> None:
    """Silence starting anywhere in a slot, jitter on: ``down`` within ``detection_bound_s`` and
    within the README's ``fall × interval + timeout`` (timeouts above the fast re-probe interval
    included: those samples overrun their slots and run back to back)."""
    spec = ComponentSettings.model_validate(
        {"kind": "trunk", "probes": [{"type": "tcp", "host": "127.0.0.1", "port": 9}],
         "interval_s": interval, "timeout_s": timeout, "fall": fall, "rise": 1, "jitter": 0.1}
    )  # fmt: skip
    bound = detection_bound_s(spec)
    assert bound <= fall * interval + timeout + 1e-9
    worst = 0.0
    for i in range(40):  # the silence starts at 40 points spread over two slots
        took = _time_to_down(spec, 20 * interval + i * interval / 20, seed=i)
        assert took <= bound + 1e-6, (i, took, bound)
        worst = max(worst, took)
    assert worst >= bound - interval * 0.25, (worst, bound)  # and the bound is not loose


def test_the_bound_is_the_back_to_back_schedule() -> None:
    spec = ComponentSettings.model_validate(
        {"kind": "trunk", "probes": [{"type": "tcp", "host": "127.0.0.1", "port": 9}],
         "interval_s": 5, "timeout_s": 4, "fall": 3}
    )  # fmt: skip
    assert detection_bound_s(spec) == 5 + 2 * 4 + 4  # 17 s ≤ 3 × 5 + 4 = 19 s
    fast = ComponentSettings.model_validate(
        {"kind": "trunk", "probes": [{"type": "tcp", "host": "127.0.0.1", "port": 9}],
         "interval_s": 4, "timeout_s": 0.5, "fall": 3}
    )  # fmt: skip
    assert detection_bound_s(fast) == 4 + 2 * 1 + 0.5


def test_config_check_states_each_components_bound(capsys: pytest.CaptureFixture[str]) -> None:
    from controller.cli.main import main
    from tests.controller.helpers import LAB

    assert main(["config", "check", str(LAB)]) == 0
    out = capsys.readouterr().out
    assert "every 1s, timeout 0.5s, rise 2/fall 3, down within 2.5s" in out  # trunk-a
    assert "every 5s, timeout 5s, rise 2/fall 3, down within 20s" in out  # the modem
