"""HTTP probe for a PBX's or provider's status API (httpx, one shared client)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from health.sample import ProbeResult
from health.specs import HttpProbeSpec

if TYPE_CHECKING:
    from health.probes import ProbeContext


class HttpProbe:
    def __init__(self, spec: HttpProbeSpec, ctx: ProbeContext) -> None:
        self.spec = spec
        self._ctx = ctx

    async def run(self, timeout: float) -> ProbeResult:
        started = time.monotonic()
        try:
            response = await self._ctx.http().get(self.spec.url, timeout=timeout)
        except httpx.TimeoutException:
            return ProbeResult(False, "timeout")
        except httpx.ConnectError as exc:
            text = str(exc).lower()
            reason = "connection refused" if "refused" in text else f"connect: {exc}"[:80]
            return ProbeResult(False, reason, _ms(started))
        except httpx.HTTPError as exc:
            return ProbeResult(False, f"HTTP error: {type(exc).__name__}", _ms(started))
        latency = _ms(started)
        status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        if response.status_code not in self.spec.expect_status:
            return ProbeResult(False, status, latency)
        if self.spec.body_contains is not None and self.spec.body_contains not in response.text:
            return ProbeResult(False, f"{status}, body lacks expected text", latency)
        return ProbeResult(True, status, latency)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
