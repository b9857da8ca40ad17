"""Helpers for the notifier's tests: a config from the lab example, a settable clock, channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from controller.config import HotlineConfig
from controller.notifier.channels import ChannelError
from controller.notifier.rows import Message
from controller.notifier.service import Notifier
from controller.notifier.signal import Severity, Signal

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
# 2026-11-25 is a Wednesday; alice took over on 2026-11-23 09:00 Prague (rotation anchor + 46 weeks)
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingChannel:
    """A channel that records what it was asked to send; ``fail`` makes it refuse."""

    def __init__(self, name: str, *, fail: bool = False, wants: str = "mobile") -> None:
        self.name = name
        self.fail = fail
        self.wants = wants
        self.sent: list[Message] = []

    def accepts(self, m: Message) -> bool:
        return (m.mobile if self.wants == "mobile" else m.email) is not None

    async def send(self, m: Message) -> str:
        if self.fail:
            raise ChannelError(self.name, "refused by test")
        self.sent.append(m)
        return f"{self.name}-{len(self.sent)}"


def lab_config(**notifier: Any) -> HotlineConfig:
    raw = yaml.safe_load(LAB.read_text())
    raw["notifier"] = notifier
    return HotlineConfig.model_validate(raw)


def signal(key: str = "route", active: bool = True, **kw: Any) -> Signal:
    base: dict[str, Any] = {
        "severity": Severity.CRITICAL,
        "summary": "all lines down; calls go to on-call mobile +420777000001",
        "detail": "trunk-a down (timeout), trunk-b down (503)",
        "at": T0,
        "route": "oncall",
        "epoch": 3,
        "down": ("trunk-a", "trunk-b"),
    }
    base.update(kw)
    return Signal(key=key, active=active, **base)


MakeNotifier = Callable[..., Notifier]
