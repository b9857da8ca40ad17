"""Modem probe: SIM ready, registered (home, or roaming if allowed), signal above a threshold.

The monitor reads the modem through ``ModemStatusSource`` (the modem driver implements it); this
module never talks AT itself, so the one place a byte reaches the modem stays in ``modem/``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from health.sample import ProbeResult
from health.specs import ModemProbeSpec


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


class ModemProbe:
    def __init__(self, spec: ModemProbeSpec, source: ModemStatusSource | None) -> None:
        self.spec = spec
        self.source = source

    async def run(self, timeout: float) -> ProbeResult:
        if self.source is None:
            return ProbeResult(False, "no modem driver")
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                st = await self.source.status()
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except Exception as exc:  # the driver's own errors: a failed sample, not a crash
            return ProbeResult(False, f"modem: {type(exc).__name__}: {exc}"[:100])
        latency = (time.monotonic() - started) * 1000
        return ProbeResult(*judge(self.spec, st), latency)


def judge(spec: ModemProbeSpec, st: ModemStatusView) -> tuple[bool, str]:
    """Pure verdict on one modem status."""
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
