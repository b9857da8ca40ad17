"""The last-resort rule on a running node: what it does when it cannot reach a ZooKeeper quorum.

The rule itself (who may forward the hotline to the on-call mobile without a quorum, and when) is
pure and lives in ``controller.decide.lastresort``; this module does its I/O.

The serial port's lock is the fence that replaces the epoch: ``flock(LOCK_EX | LOCK_NB)`` on the
device is the lock pyserial takes with ``exclusive=True``, so while any other local writer holds
the port open exclusively (the daemon's modem actuator serving a ZooKeeper leader, a ser2net
session configured to lock) the rule cannot fire, and while the rule writes nobody else can open
the port exclusively. The rule fires once per outage; every firing (and every refusal by the lock)
is logged and signalled (``Signal(key="last_resort")``) so people know the cluster was bypassed.

``last_resort()`` (``controller.decide.lastresort``) is pure; the small ``LastResortRunner``
here does the I/O: the lock, the forward, the log line and the signal;
``LastResortWatch`` feeds it from a running node (its snapshot, the coordinator's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

from controller.config import HotlineConfig, Route
from controller.decide.lastresort import (
    LastResortInputs,
    LastResortPolicy,
    LastResortVerdict,
    last_resort,
    total_outage,
)
from controller.decide.schedule import on_call
from controller.loop.actuators.base import ActuationError, RouteTarget
from controller.loop.actuators.modem import ModemActuator
from controller.notifier.signal import NullSink, Severity, Signal, SignalSink
from health.model import HealthSnapshot
from modem.e164 import validate_e164

log = logging.getLogger("hotline.lastresort")


class PortBusy(Exception):
    """Another open file description holds the serial port's exclusive lock."""


@contextlib.contextmanager
def serial_port_lock(device: str) -> Iterator[int]:
    """Hold ``flock(LOCK_EX | LOCK_NB)`` on ``device`` (what pyserial's exclusive=True takes)."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PortBusy(f"{device} is held exclusively by another writer") from exc
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


Forward = Callable[[str], Awaitable[None]]
"""Writes and verifies the unconditional forward to a number (e.g. ``Modem.set_forwarding``)."""


def modem_forward(modem: ModemActuator) -> Forward:
    """The forward done by the modem actuator: idempotent (writes only what differs) and verified
    by a +CCFC query; a read-back that differs raises ``ActuationError``."""

    async def forward(number: str) -> None:
        target = RouteTarget(Route.ONCALL, number, "last resort", 0)
        await modem.apply(target)
        if not (await modem.verify(target)).ok:
            seen = modem.last_seen
            raise ActuationError(f"read back {seen or 'no forwarding'}, not {number}")

    return forward


class LastResortRunner:
    """Evaluates the rule each tick and, when it fires, forwards under the serial port's lock."""

    def __init__(
        self,
        policy: LastResortPolicy,
        forward: Forward,
        sink: SignalSink | None = None,
        node: str = "",
        forward_timeout_s: float = 90.0,
    ) -> None:
        self.policy = policy
        self.forward = forward
        self.sink = sink or NullSink()
        self.node = node
        self.forward_timeout_s = forward_timeout_s
        self.fired_to: str | None = None  # the number forwarded to in this outage
        self.last: LastResortVerdict | None = None
        self.blocked = False  # the lock refused us in this outage (logged once)

    async def tick(self, inputs: LastResortInputs, now: float, at: datetime) -> LastResortVerdict:
        if inputs.zk_lost_since is None and self.fired_to is not None:
            await self._signal(
                False,
                "ZooKeeper quorum back; the leader manages the route",
                f"the leader takes over from the last-resort forward to {self.fired_to}",
                at,
            )
            self.fired_to = None
        if inputs.zk_lost_since is None:
            self.blocked = False
        known = self.fired_to or inputs.forwarding_to  # once per outage
        verdict = last_resort(
            LastResortInputs(
                inputs.modem_url,
                inputs.oncall_number,
                inputs.zk_lost_since,
                inputs.total_outage_since,
                known,
            ),
            self.policy,
            now,
        )
        self.last = verdict
        if verdict.fire:
            verdict = await self._fire(inputs, verdict, at)
        return verdict

    async def _fire(
        self, inputs: LastResortInputs, verdict: LastResortVerdict, at: datetime
    ) -> LastResortVerdict:
        number = validate_e164(inputs.oncall_number)
        try:
            with serial_port_lock(inputs.modem_url):
                log.critical(
                    "event=last_resort_fired node=%s number=%s reason=%r",
                    self.node,
                    number,
                    verdict.reason,
                )
                await asyncio.wait_for(self.forward(number), timeout=self.forward_timeout_s)
        except PortBusy as exc:
            if not self.blocked:  # once per outage: the rule re-evaluates every tick
                log.error("event=last_resort_blocked node=%s reason=%r", self.node, str(exc))
            self.blocked = True
            return LastResortVerdict(False, f"last resort blocked: {exc}")
        except Exception as exc:  # a failed forward is alert-worthy, never fatal to the daemon
            log.error("event=last_resort_failed node=%s error=%s", self.node, type(exc).__name__)
            await self._signal(
                True,
                "LAST RESORT forward to on-call FAILED",
                f"{verdict.reason}; the forward failed: {exc}",
                at,
            )
            return LastResortVerdict(False, f"last resort failed: {type(exc).__name__}: {exc}")
        self.fired_to = number
        self.blocked = False
        log.critical("event=last_resort_verified node=%s number=%s", self.node, number)
        await self._signal(
            True,
            f"LAST RESORT: hotline forwarded to on-call {number}",
            f"{verdict.reason}. Node {self.node} acted without ZooKeeper, "
            "fenced by the serial port lock.",
            at,
        )
        return verdict

    async def _signal(self, active: bool, summary: str, detail: str, at: datetime) -> None:
        try:
            await self.sink.signal(
                Signal(
                    "last_resort",
                    active,
                    Severity.CRITICAL,
                    summary,
                    detail,
                    at,
                    "oncall" if active else None,
                    None,
                )
            )
        except Exception:
            log.exception("event=last_resort_signal_failed node=%s", self.node)


class LastResortWatch:
    """The rule wired to a running node; the daemon calls ``tick`` every loop tick on every node.

    ``zk_lost_since`` is the coordinator's ``quorum_lost_since`` (the local backend has none, so
    the rule never fires there: a single node always leads). ``forward`` writes the forward through
    the daemon's own modem (``modem_forward(ModemActuator(...))``).
    """

    def __init__(
        self,
        cfg: HotlineConfig,
        zk_lost_since: Callable[[], float | None],
        forward: Forward,
        sink: SignalSink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        zk = cfg.coordination.zookeeper
        policy = LastResortPolicy(
            None
            if zk is None or cfg.coordination.backend != "zookeeper"
            else zk.last_resort_after_s,
            zk.session_timeout_s if zk is not None else 0.0,
        )
        self.cfg = cfg
        self.runner = LastResortRunner(policy, forward, sink, node=cfg.node.name)
        self.zk_lost_since = zk_lost_since
        self.clock = clock
        self.outage_since: float | None = None

    async def tick(
        self, snapshot: HealthSnapshot, observed_number: str | None, at: datetime
    ) -> LastResortVerdict:
        now = self.clock()
        if total_outage(snapshot, self.cfg):
            self.outage_since = self.outage_since if self.outage_since is not None else now
        else:
            self.outage_since = None
        inputs = LastResortInputs(
            self.cfg.hotline.modem.url,
            on_call(self.cfg.oncall, at).mobile,
            self.zk_lost_since(),
            self.outage_since,
            observed_number,
        )
        return await self.runner.tick(inputs, now, at)
