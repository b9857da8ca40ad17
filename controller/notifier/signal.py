"""What the controller tells the notifier: a condition that opened or cleared.

The reconcile loop raises a ``Signal`` whenever an alert-worthy condition changes (route switched
away from primary, actuation failed, flapping, modem unhealthy, paused on a dead route, ZooKeeper
quorum lost, last-resort rule fired). The notifier groups the signals of one outage into one
incident (``incidents.group_of``): one notification when it opens, updates when it changes, one
when it resolves. ``manual`` and ``paused`` signals are notices (information, no incident).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Signal:
    key: str  # incident identity, e.g. "route", "actuation_failed", "flapping", "modem"
    active: bool  # True: the condition holds (open or keep open); False: it cleared
    severity: Severity
    summary: str  # one line, fits an SMS: "primary down; calls go to secondary +420..."
    detail: str  # for e-mail and the dashboard
    at: datetime  # UTC
    route: str | None = None  # the route in force when signalled
    epoch: int | None = None  # the leader's epoch (HA), for the audit trail
    down: tuple[str, ...] = ()  # components down (config names): the text says what broke
    by: str | None = None  # a person's action (manual override, pause): who
    why: str = ""  # and why, in their words


class SignalSink(Protocol):
    async def signal(self, s: Signal) -> None: ...


class NullSink:
    """Accepts signals and does nothing: for a controller without a notifier configured."""

    async def signal(self, s: Signal) -> None:
        return None
