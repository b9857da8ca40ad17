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

from controller.actuators.settings import CommonSettings
from controller.config import Route

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
    outcome: str  # ok | failed | dry-run
    attempts: int
    duration_ms: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "dry-run")


Sleep = Callable[[float], Awaitable[None]]


async def run_step(
    act: Actuator, target: RouteTarget, *, dry_run: bool = False, sleep: Sleep = asyncio.sleep
) -> StepOutcome:
    """Apply ``target`` with ``act`` and read it back, retrying with doubling backoff."""
    started = time.monotonic()
    s = act.settings
    if dry_run or s.dry_run:
        detail = f"would set {target.route} ({target.number})"
        log.info("actuator=%s outcome=dry-run route=%s", act.name, target.route)
        return StepOutcome(act.name, "dry-run", 0, 0.0, detail)
    attempts, detail, delay = 0, "", s.backoff_s
    for attempt in range(1, s.retries + 2):
        attempts = attempt
        try:
            await asyncio.wait_for(act.apply(target), s.timeout_s)
            check = await asyncio.wait_for(act.verify(target), s.timeout_s)
            if check.ok:
                ms = (time.monotonic() - started) * 1000
                log.info("actuator=%s outcome=ok route=%s attempts=%d", act.name, target.route,
                         attempt)
                return StepOutcome(act.name, "ok", attempt, ms, check.observed)
            detail = f"read back does not match: {check.observed}"
        except TimeoutError:
            detail = f"timed out after {s.timeout_s:g}s"
        except ActuationError as exc:
            detail = str(exc)
        except Exception as exc:  # a driver bug or a lost link: a failed attempt, not a crash
            detail = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("actuator=%s attempt=%d failed: %s", act.name, attempt, detail)
        if attempt <= s.retries:
            await sleep(delay)
            delay *= 2
    ms = (time.monotonic() - started) * 1000
    return StepOutcome(act.name, "failed", attempts, ms, detail)


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
