"""Modem probe: SIM ready, registered (home, or roaming if allowed), signal above a threshold.

The monitor reads the modem through ``ModemStatusSource`` (the modem driver implements it); this
module never talks AT itself, so the one place a byte reaches the modem stays in ``modem/``.

Two states are not a verdict on the modem (issue #13 / #17):

- this node may not open the modem (the cluster leader holds it): the component is *unknown*,
  "held by the leader (this node does not act)", never down;
- the modem is busy with a long operation (a forwarding change and its read-back hold the lock
  for up to a minute): the probe yields and the last verdict stands, rather than timing out.

A source that offers ``registration_event()`` (``ModemDevice``) wakes the monitor when a
``+CREG`` / ``+CEREG`` URC arrives, so a lost registration is probed at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

from health.sample import ProbeResult
from health.specs import ModemProbeSpec

HELD_BY_LEADER = "held by the leader (this node does not act)"
BUSY = "busy with a long operation (forwarding change, SMS); last verdict kept"


class ModemStatusView(Protocol):
    """What the probe reads of a modem status (``modem.model.ModemStatus`` has all of it)."""

    @property
    def sim_ready(self) -> bool: ...
    @property
    def registered(self) -> bool: ...
    @property
    def roaming(self) -> bool: ...
    @property
    def signal_dbm(self) -> int | None: ...
    @property
    def operator(self) -> str | None: ...


class ModemStatusSource(Protocol):
    """``modem.device.ModemDevice`` (the daemon's shared modem) or ``modem.driver.Modem``."""

    async def status(self) -> ModemStatusView: ...


@runtime_checkable
class SharedModem(Protocol):
    """A source shared with the actuator and gated by the cluster (``ModemDevice``)."""

    def may_open(self) -> bool: ...
    def busy(self) -> bool: ...
    def registration_event(self) -> asyncio.Event: ...


@runtime_checkable
class ForwardingView(Protocol):
    @property
    def can_change_forwarding(self) -> bool: ...
    @property
    def forwarding_via(self) -> str: ...


class ModemProbe:
    def __init__(self, spec: ModemProbeSpec, source: ModemStatusSource | None) -> None:
        self.spec = spec
        self.source = source
        self.wake = source.registration_event() if isinstance(source, SharedModem) else None
        """Set by the source when registration changes: the monitor samples at once."""

    def _not_a_verdict(self) -> ProbeResult | None:
        source = self.source
        if not isinstance(source, SharedModem):
            return None
        if not source.may_open():
            return ProbeResult(False, HELD_BY_LEADER, verdict="unknown")
        if source.busy():
            return ProbeResult(False, BUSY, verdict="hold")
        return None

    async def run(self, timeout: float) -> ProbeResult:
        if self.source is None:
            return ProbeResult(False, "no modem driver")
        skip = self._not_a_verdict()
        if skip is not None:
            return skip
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                st = await self.source.status()
        except TimeoutError:
            return self._not_a_verdict() or ProbeResult(False, "timeout")
        except Exception as exc:  # the driver's own errors: a failed sample, not a crash
            skip = self._not_a_verdict()  # the gate may have closed while we asked
            return skip or ProbeResult(False, f"modem: {type(exc).__name__}: {exc}"[:100])
        latency = (time.monotonic() - started) * 1000
        return ProbeResult(*judge(self.spec, st), latency)


def judge(spec: ModemProbeSpec, st: ModemStatusView) -> tuple[bool, str]:
    """Pure verdict on one modem status; the reason says whether forwarding can change now."""
    ok, reason = _judge(spec, st)
    if isinstance(st, ForwardingView):
        if st.can_change_forwarding:
            reason += f"; can change forwarding ({st.forwarding_via})"
        else:
            reason += "; cannot change forwarding now"
    return ok, reason


def _judge(spec: ModemProbeSpec, st: ModemStatusView) -> tuple[bool, str]:
    if not st.sim_ready:
        return False, "SIM not ready"
    if not st.registered:
        return False, "not registered"
    if st.roaming and not spec.allow_roaming:
        return False, "roaming not allowed"
    where = "roaming" if st.roaming else "home"
    signal = st.signal_dbm
    operator = f" {st.operator}" if st.operator else ""
    if signal is None:
        # +CSQ 99: the modem cannot tell right now. Registration already proves service.
        return True, f"registered {where}{operator}, signal unknown"
    if signal < spec.min_signal_dbm:
        return False, f"signal {signal} dBm below {spec.min_signal_dbm} dBm"
    return True, f"registered {where}{operator}, {signal} dBm"
