"""The ``command`` actuator: run an executable (no shell) with the route in its environment.

For glue with anything the other actuators do not cover. The child gets HOTLINE_ROUTE,
HOTLINE_NUMBER, HOTLINE_REASON and HOTLINE_EPOCH; exit status 0 means applied. It cannot be read
back, so a clean exit is its verification.
"""

from __future__ import annotations

import asyncio
import os

from controller.config.actuators import CommandActuatorSettings
from controller.loop.actuators.base import ActuationError, RouteTarget, Verification


class CommandActuator:
    can_read_back = False

    def __init__(self, settings: CommandActuatorSettings) -> None:
        self.settings = settings
        self.name = settings.label
        self._last: tuple[str, str] | None = None

    async def apply(self, target: RouteTarget) -> None:
        env = dict(os.environ)
        env.update(self.settings.env)
        env.update(
            HOTLINE_ROUTE=str(target.route),
            HOTLINE_NUMBER=target.number,
            HOTLINE_REASON=target.reason.replace("\x00", ""),
            HOTLINE_EPOCH=str(target.epoch),
        )
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.settings.argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ActuationError(f"cannot run {self.settings.argv[0]}: {exc.strerror}") from exc
        try:
            _, err = await proc.communicate()
        except asyncio.CancelledError:
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise ActuationError(f"exit status {proc.returncode}: {tail[0][:200]}")
        self._last = (str(target.route), target.number)

    async def verify(self, target: RouteTarget) -> Verification:
        ok = self._last == (str(target.route), target.number)
        return Verification(ok, "command exited 0" if ok else "not run for this route yet")

    async def close(self) -> None:
        return None
