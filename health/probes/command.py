"""Command probe for anything site-specific: alive when the command exits 0 within the timeout.

The command runs without a shell (argv as configured); on timeout it is killed and reaped, so a
hung script cannot pile up processes. Only the first line of its stderr (truncated) is kept as
the reason: a site script should not print secrets there, and we never log more.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from health.sample import ProbeResult
from health.specs import CommandProbeSpec

_REASON_CHARS = 80


class CommandProbe:
    def __init__(self, spec: CommandProbeSpec) -> None:
        self.spec = spec

    async def run(self, timeout: float) -> ProbeResult:
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            return ProbeResult(False, f"cannot run: {exc.strerror or exc}")
        try:
            async with asyncio.timeout(timeout):
                _, err = await proc.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return ProbeResult(False, "timeout (killed)")
        latency = (time.monotonic() - started) * 1000
        if proc.returncode == 0:
            return ProbeResult(True, "exit 0", latency)
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        detail = f": {first[0][:_REASON_CHARS]}" if first else ""
        return ProbeResult(False, f"exit {proc.returncode}{detail}", latency)
