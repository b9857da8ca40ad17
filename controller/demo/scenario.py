"""The scripted demo: break and restore lab components and check that every step reaches the
expected route, verified in the controller's state and in the emulated modem's forwarding.

normal → primary trunk down → secondary → PBX cluster down → on-call mobile → PBX back (recovery
to the secondary line) → primary trunk back (failback to primary). Each step's time is measured
from the break/restore to the verified route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.config import Route
from controller.daemon import Parts
from controller.decide.schedule import on_call
from controller.demo.lab import Lab


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    actions: tuple[tuple[str, bool], ...]  # (component, answering)
    expect: Route


SCENARIO: tuple[Step, ...] = (
    Step("normal operation", (), Route.PRIMARY),
    Step("primary trunk down (break trunk-a)", (("trunk-a", False),), Route.SECONDARY),
    Step("PBX cluster down (break pbx)", (("pbx", False),), Route.ONCALL),
    Step("PBX cluster back (restore pbx)", (("pbx", True),), Route.SECONDARY),
    Step("primary trunk back (restore trunk-a)", (("trunk-a", True),), Route.PRIMARY),
)


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    ok: bool
    seconds: float
    number: str | None
    reason: str


def reached(parts: Parts, lab: Lab, route: Route) -> str | None:
    """The forwarded number when ``route`` is verified in the state and in the modem."""
    cache = parts.loop.cache
    rec = cache.route
    if rec.route is not route or not rec.verified or cache.change is not None:
        return None
    number = lab.forwarded_to()
    return number if number == rec.number else None


async def play(
    parts: Parts, lab: Lab, out: Callable[[str], None], step_timeout_s: float = 40.0
) -> list[StepResult]:
    results: list[StepResult] = []
    began = time.monotonic()
    cfg = parts.loop.cfg
    for step in SCENARIO:
        for name, answering in step.actions:
            lab.set_answering(name, answering)
        started = time.monotonic()
        number = None
        deadline = started + step_timeout_s
        while time.monotonic() < deadline:
            number = reached(parts, lab, step.expect)
            if number is not None:
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        d = parts.loop.view.decision
        reason = d.reason if d else ""
        ok = number is not None
        results.append(StepResult(step, ok, took, number, reason))
        who = ""
        if step.expect is Route.ONCALL and ok:
            who = f" ({on_call(cfg.oncall, parts.loop.clock()).name})"
        mark = "ok  " if ok else "FAIL"
        out(
            f"[{mark}] +{time.monotonic() - began:5.1f}s  {step.title:<40} → {step.expect}"
            f"{who} {number or ''}  verified after {took:.1f}s"
        )
        out(f"         reason: {reason}")
        if not ok:
            break
    return results
