"""Modem probe: SIM ready, registered (home, or roaming if allowed), signal above a threshold.

The monitor reads the modem through ``ModemStatusSource`` (the modem driver implements it); this
module never talks AT itself, so the one place a byte reaches the modem stays in ``modem/``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from health.sample import ProbeResult
from health.specs import ModemProbeSpec


class ModemStatusSource(Protocol):
    async def status(self) -> Any:
        """An object with sim_ready, registered, roaming, signal_dbm, operator attributes."""
        ...


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


def judge(spec: ModemProbeSpec, st: Any) -> tuple[bool, str]:
    """Pure verdict on one modem status."""
    if not st.sim_ready:
        return False, "SIM not ready"
    if not st.registered:
        return False, "not registered"
    if st.roaming and not spec.allow_roaming:
        return False, "roaming not allowed"
    where = "roaming" if st.roaming else "home"
    signal = st.signal_dbm
    operator = f" {st.operator}" if getattr(st, "operator", None) else ""
    if signal is None:
        # +CSQ 99: the modem cannot tell right now. Registration already proves service.
        return True, f"registered {where}{operator}, signal unknown"
    if signal < spec.min_signal_dbm:
        return False, f"signal {signal} dBm below {spec.min_signal_dbm} dBm"
    return True, f"registered {where}{operator}, {signal} dBm"
