"""What every actuator is, and how one step is carried out: apply, read back, retry with backoff.

An actuator changes one thing in the world so calls take a route (the modem's forwarding, the SIP
proxy's gateway states, a webhook, a script) and can say whether the world now holds that route.
Steps must be idempotent: after a crash the loop applies every step again. A step counts as done
only when ``verify`` confirms it; an actuator that cannot read back (a webhook, a script) treats a
successful ``apply`` as its verification and says so in ``Verification.observed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from controller.config import Route
from controller.config.actuators import CommonSettings
from controller.coordination.base import CoordinationError
from logsafe import esc

log = logging.getLogger("hotline.actuators")


class ActuationError(Exception):
    """One attempt of one step failed; the message is safe to log (no secrets)."""


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """The route to put in force. ``number`` is E.164-validated before it gets here."""

    route: Route
    number: str
    reason: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    observed: str  # what the world holds, in words, for the event log
    error: bool = False  # the world could not be read (not the same as a mismatch)


class Actuator(Protocol):
    name: str

    @property
    def settings(self) -> CommonSettings: ...

    @property
    def can_read_back(self) -> bool:
        """False: ``verify`` only knows what this process applied (no drift check)."""
        ...

    async def apply(self, target: RouteTarget) -> None: ...

    async def verify(self, target: RouteTarget) -> Verification: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StepOutcome:
    actuator: str
    outcome: str  # ok | failed | dry-run | fenced
    attempts: int
    duration_ms: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "dry-run")

    @property
    def fenced(self) -> bool:
        """Stopped because this node may no longer actuate (nothing written by this attempt)."""
        return self.outcome == "fenced"


Sleep = Callable[[float], Awaitable[None]]
Fence = Callable[[], Awaitable[None]]
"""``Coordinator.check_fence``: raises ``CoordinationError`` unless our epoch is current now."""


async def run_step(
    act: Actuator,
    target: RouteTarget,
    *,
    dry_run: bool = False,
    sleep: Sleep = asyncio.sleep,
    fence: Fence | None = None,
) -> StepOutcome:
    """Apply ``target`` with ``act`` and read it back, retrying with doubling backoff.

    ``fence`` runs before *every* apply attempt, not just the first: a leader frozen (SIGSTOP, a
    long GC, a stalled VM) between attempts wakes up deposed, and a retry would otherwise write
    its stale route over the new leader's. A failed fence ends the step as ``fenced``.
    """
    started = time.monotonic()
    s = act.settings
    if dry_run or s.dry_run:
        stopped = await _fenced(act, fence, 1, started)
        if stopped is not None:
            return stopped
        detail = f"would set {target.route} ({target.number})"
        log.info("actuator=%s outcome=dry-run route=%s", act.name, target.route)
        return StepOutcome(act.name, "dry-run", 0, 0.0, detail)
    attempts, detail, delay = 0, "", s.backoff_s
    for attempt in range(1, s.retries + 2):
        stopped = await _fenced(act, fence, attempt, started)
        if stopped is not None:
            return stopped
        attempts = attempt
        try:
            await asyncio.wait_for(act.apply(target), s.timeout_s)
            check = await asyncio.wait_for(act.verify(target), s.timeout_s)
            if check.ok:
                ms = (time.monotonic() - started) * 1000
                log.info(
                    "actuator=%s outcome=ok route=%s attempts=%d", act.name, target.route, attempt
                )
                return StepOutcome(act.name, "ok", attempt, ms, check.observed)
            detail = f"read back does not match: {check.observed}"
        except TimeoutError:
            detail = f"timed out after {s.timeout_s:g}s"
        except ActuationError as exc:
            detail = str(exc)
        except Exception as exc:  # a driver bug or a lost link: a failed attempt, not a crash
            detail = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("actuator=%s attempt=%d failed: %s", act.name, attempt, esc(detail, 300))
        if attempt <= s.retries:
            await sleep(delay)
            delay *= 2
    ms = (time.monotonic() - started) * 1000
    return StepOutcome(act.name, "failed", attempts, ms, detail)


async def _fenced(
    act: Actuator, fence: Fence | None, attempt: int, started: float
) -> StepOutcome | None:
    """The fenced outcome when ``fence`` refuses attempt number ``attempt``; None to go on."""
    if fence is None:
        return None
    try:
        await fence()
    except CoordinationError as exc:
        ms = (time.monotonic() - started) * 1000
        log.error("actuator=%s outcome=fenced attempt=%d: %s", act.name, attempt, esc(exc))
        return StepOutcome(
            act.name, "fenced", attempt - 1, ms, f"fenced before attempt {attempt}: {exc}"
        )
    return None


async def check_step(act: Actuator, target: RouteTarget) -> Verification:
    """Read back only (drift check); errors become a failed verification."""
    try:
        return await asyncio.wait_for(act.verify(target), act.settings.timeout_s)
    except TimeoutError:
        return Verification(False, f"no answer within {act.settings.timeout_s:g}s", error=True)
    except ActuationError as exc:
        return Verification(False, str(exc), error=True)
    except Exception as exc:  # read-back failed for another reason: not verified, not drift
        return Verification(False, f"{type(exc).__name__}: {exc}"[:300], error=True)
