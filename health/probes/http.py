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
            return ProbeResult(False, _connect_reason(exc), _ms(started))
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


def _connect_reason(exc: BaseException) -> str:
    """httpx wraps the OS error a few levels deep; name it like the other probes do."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return f"connect: {seen.strerror}"
        seen = seen.__cause__ or seen.__context__
    return f"connect: {exc}"[:80]
