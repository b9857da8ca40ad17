"""The last-resort rule: the pure verdict, and the runner fenced by the serial port's lock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import serial

from controller.decide.lastresort import (
    LastResortInputs,
    LastResortPolicy,
    last_resort,
)
from controller.loop.lastresort import LastResortRunner, PortBusy, serial_port_lock
from controller.notifier.signal import Severity, Signal

ONCALL = "+420777123456"
POLICY = LastResortPolicy(after_s=120.0, zk_grace_s=6.0)
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def inputs(
    zk_lost: float | None = 0.0,
    outage: float | None = 0.0,
    url: str = "/dev/ttyUSB2",
    forwarding: str | None = "+420222000111",
) -> LastResortInputs:
    return LastResortInputs(url, ONCALL, zk_lost, outage, forwarding)


@pytest.mark.parametrize(
    ("case", "now", "policy", "fire", "reason"),
    [
        (inputs(), 500.0, LastResortPolicy(None, 6.0), False, "last-resort rule disabled"),
        (inputs(url="rfc2217://modem:2217"), 500.0, POLICY, False, "not on this node's own"),
        (inputs(url="socket://127.0.0.1:7000"), 500.0, POLICY, False, "not on this node's own"),
        (inputs(zk_lost=None), 500.0, POLICY, False, "ZooKeeper quorum reachable"),
        (inputs(zk_lost=498.0), 500.0, POLICY, False, "no ZooKeeper quorum for 2.0s; waiting"),
        (inputs(outage=None), 500.0, POLICY, False, "no total outage seen here"),
        (inputs(outage=400.0), 500.0, POLICY, False, "total outage for 100s without a ZooKeeper"),
        (inputs(forwarding=ONCALL), 500.0, POLICY, False, "already forwarding to on-call"),
        (
            inputs(),
            500.0,
            POLICY,
            True,
            "last resort: no ZooKeeper quorum for 500s and a total "
            f"outage for 500s; forwarding the hotline to on-call "
            f"{ONCALL}",
        ),
        (inputs(url="/dev/ttyACM0", outage=380.0), 500.0, POLICY, True, "a total outage for 120s"),
    ],
)
def test_the_rule_and_its_reason(
    case: LastResortInputs, now: float, policy: LastResortPolicy, fire: bool, reason: str
) -> None:
    verdict = last_resort(case, policy, now)
    assert verdict.fire is fire
    assert reason in verdict.reason


def test_waiting_verdicts_say_when_to_look_again() -> None:
    assert last_resort(inputs(zk_lost=498.0), POLICY, 500.0).retry_in_s == pytest.approx(4.0)
    assert last_resort(inputs(outage=450.0), POLICY, 500.0).retry_in_s == pytest.approx(70.0)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("/dev/ttyUSB2", True),
        ("COM3", True),
        ("rfc2217://10.0.0.5:2217?ign_set_control", False),
        ("socket://127.0.0.1:7000", False),
        ("loop://", False),
    ],
)
def test_only_a_device_node_counts_as_local(url: str, local: bool) -> None:
    """The rule uses the modem package's one test of a local device (the daemon's gate too)."""
    verdict = last_resort(inputs(url=url), POLICY, 500.0)
    assert ("not on this node's own serial port" not in verdict.reason) is local, verdict


@pytest.fixture
def pty_device() -> Iterator[str]:
    """A real tty device node (the slave side of a pty) to lock, standing in for /dev/ttyUSB2."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


class Sink:
    def __init__(self) -> None:
        self.signals: list[Signal] = []

    async def signal(self, s: Signal) -> None:
        self.signals.append(s)


async def test_runner_forwards_once_under_the_lock_and_alerts(pty_device: str) -> None:
    forwarded: list[str] = []

    async def forward(number: str) -> None:
        # while we forward, nobody else can take the port
        with pytest.raises(PortBusy), serial_port_lock(pty_device):
            pass
        forwarded.append(number)

    sink = Sink()
    runner = LastResortRunner(POLICY, forward, sink, node="node-1")
    verdict = await runner.tick(inputs(url=pty_device), 500.0, AT)
    assert verdict.fire and forwarded == [ONCALL]
    assert [(s.key, s.active, s.severity) for s in sink.signals] == [
        ("last_resort", True, Severity.CRITICAL)
    ]
    assert ONCALL in sink.signals[0].summary and "node-1" in sink.signals[0].detail
    again = await runner.tick(inputs(url=pty_device), 510.0, AT)  # fires once per outage
    assert not again.fire and forwarded == [ONCALL]
    back = await runner.tick(inputs(url=pty_device, zk_lost=None), 520.0, AT)
    assert not back.fire
    assert [s.active for s in sink.signals] == [True, False]


async def test_the_serial_lock_is_the_fence(pty_device: str) -> None:
    """Another writer holding the port exclusively (pyserial exclusive=True) blocks the rule."""
    forwarded: list[str] = []

    async def forward(number: str) -> None:
        forwarded.append(number)

    runner = LastResortRunner(POLICY, forward, Sink(), node="node-1")
    other = serial.Serial(pty_device, exclusive=True)
    try:
        verdict = await runner.tick(inputs(url=pty_device), 500.0, AT)
        assert not verdict.fire and "blocked" in verdict.reason
        assert forwarded == []
    finally:
        other.close()
    assert (await runner.tick(inputs(url=pty_device), 501.0, AT)).fire
    assert forwarded == [ONCALL]


async def test_a_failed_forward_alerts_and_is_retried(pty_device: str) -> None:
    calls: list[str] = []

    async def forward(number: str) -> None:
        calls.append(number)
        if len(calls) == 1:
            raise OSError("modem did not answer")

    sink = Sink()
    runner = LastResortRunner(POLICY, forward, sink, node="node-1")
    first = await runner.tick(inputs(url=pty_device), 500.0, AT)
    assert not first.fire and "failed" in first.reason
    assert sink.signals[-1].active and "FAILED" in sink.signals[-1].summary
    assert (await runner.tick(inputs(url=pty_device), 505.0, AT)).fire
    assert calls == [ONCALL, ONCALL]


async def test_an_invalid_oncall_number_never_reaches_the_modem(pty_device: str) -> None:
    forwarded: list[str] = []

    async def forward(number: str) -> None:
        forwarded.append(number)

    runner = LastResortRunner(POLICY, forward, Sink())
    bad = LastResortInputs(pty_device, "+420;+CFUN=0", 0.0, 0.0, None)
    with pytest.raises(ValueError):
        await runner.tick(bad, 500.0, AT)
    assert forwarded == []
