"""TCP connect probe: alive when the port accepts a connection."""

from __future__ import annotations

import asyncio
import contextlib
import time

from health.sample import ProbeResult
from health.specs import TcpProbeSpec


class TcpProbe:
    def __init__(self, spec: TcpProbeSpec) -> None:
        self.spec = spec

    async def run(self, timeout: float) -> ProbeResult:
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(self.spec.host, self.spec.port)
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except ConnectionRefusedError:
            return ProbeResult(False, "connection refused", _ms(started))
        except OSError as exc:
            return ProbeResult(False, exc.strerror or type(exc).__name__, _ms(started))
        latency = _ms(started)
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(0.5):
                await writer.wait_closed()
        return ProbeResult(True, "connected", latency)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
