"""Shared helpers for the controller's loop tests: the lab config, a settable health source, an
in-memory forwarding device and a hand-driven clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from controller.config import HotlineConfig
from health.model import ComponentState, HealthSnapshot, Status

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


class SwitchableCoordinator:
    """A LocalCoordinator whose leadership and fence a test can take away (an in-memory stand-in
    for a clustered backend), and whose intents go to another node's handler."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.leader = True
        self.fence_ok = True
        self.fence_checks = 0
        self.leader_handler: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def is_leader(self) -> bool:
        return self.leader

    def may_actuate(self) -> bool:
        return self.leader

    def leader_name(self) -> str | None:
        return "me" if self.leader else "other-node"

    async def check_fence(self) -> None:
        from controller.coordination.base import CoordinationError

        self.fence_checks += 1
        if not self.fence_ok:
            raise CoordinationError("epoch 1 superseded by epoch 2")

    def set_intent_handler(self, handler: Any) -> None:
        return None

    async def submit_intent(self, doc: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
        result: dict[str, Any] = await self.leader_handler(doc)
        return result
