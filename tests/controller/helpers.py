"""Shared helpers for the controller's loop tests: the lab config, a settable health source, an
in-memory forwarding device and a hand-driven clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from controller.config import HotlineConfig
from controller.coordination.base import Coordinator
from health.model import ComponentState, HealthSnapshot, Status
from tests.support.memory_coordinator import MemoryCoordinator

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "examples" / "lab.yaml"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; alice is on call (rotation anchor)


def lab_dict() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(LAB.read_text())
    return data


def lab_config(**sections: Any) -> HotlineConfig:
    data = lab_dict()
    data.update(sections)
    return HotlineConfig.model_validate(data)


class FakeHealth:
    """Every component up since ``since`` unless set otherwise."""

    def __init__(self, cfg: HotlineConfig, since: datetime) -> None:
        self.states = {n: ComponentState(n, Status.UP, since) for n in cfg.components}
        self.taken = since

    def set(self, name: str, status: Status, since: datetime) -> None:
        self.states[name] = ComponentState(name, status, since, reason=f"test {status}")

    def snapshot(self) -> HealthSnapshot:
        return HealthSnapshot.of(self.taken, self.states.values())


class MemoryForwarding:
    """A modem's forwarding table in memory; ``fail_writes`` makes writes raise."""

    def __init__(self, number: str | None = None) -> None:
        self.number = number
        self.writes: list[str] = []
        self.fail_writes = 0
        self.fail_reads = 0

    async def read_forwarding(self) -> str | None:
        from controller.loop.actuators.base import ActuationError

        if self.fail_reads:
            self.fail_reads -= 1
            raise ActuationError("no network service (CME ERROR 30)")
        return self.number

    async def write_forwarding(self, number: str) -> None:
        from controller.loop.actuators.base import ActuationError

        if self.fail_writes:
            self.fail_writes -= 1
            raise ActuationError("network timeout (CME ERROR 31)")
        self.writes.append(number)
        self.number = number


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class SwitchableCoordinator(MemoryCoordinator):
    """A running coordinator (e.g. a started LocalCoordinator) whose leadership and fence a test
    can take away, and whose intents go to another node's ``leader_handler``: the shared state,
    epoch and views stay ``inner``'s (see ``tests/support/memory_coordinator``)."""

    def __init__(self, inner: Coordinator) -> None:
        super().__init__(store=inner)
        self.inner = inner
