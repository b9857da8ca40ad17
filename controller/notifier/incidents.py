"""Incidents and who hears about them: pure rules, no I/O and no clock (``now`` is an argument).

An incident is one outage: opened by the first active signal with a given key, kept open (and
silent) by further active signals, resolved by an inactive one. While it is open and nobody has
acknowledged it, reminders go to the technician it is assigned to every ``reminder_interval_s``,
and after ``escalation_timeout_s`` without an acknowledgement it is handed to the next technician
in the rotation order (each one once).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from controller.notifier.settings import NotifierSettings, QuietHours, Retry, is_email
from modem.e164 import is_e164

if TYPE_CHECKING:
    from controller.config import Technician

# No 0/O, 1/I/L, 5/S, 8/B: codes are read off a phone screen and typed back.
_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ234679"
CODE_LENGTH = 6


def new_ack_code() -> str:
    """About 28 bits of randomness: unguessable within the rate at which SMS can be sent."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    key: str
    severity: str
    summary: str
    detail: str
    route: str | None
    epoch: int | None
    code: str
    state: Literal["open", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    assignee: str  # technician name currently responsible
    escalation_level: int
    last_escalated_at: datetime  # when the current assignee was notified
    reminders: int
    last_reminded_at: datetime | None
    resolution: str = ""
    members: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # key → its signal


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to notify: a technician (by name) or a subscriber (by address)."""

    label: str
    mobile: str | None = None
    email: str | None = None


def technician_recipient(t: Technician) -> Recipient:
    return Recipient(label=t.name, mobile=t.mobile, email=t.email)


def recipient_for(label: str, technicians: Mapping[str, Technician]) -> Recipient | None:
    """Whom a recipient label in the outbox names: a technician, an E.164 number or an address."""
    if label in technicians:
        return technician_recipient(technicians[label])
    if is_e164(label):
        return Recipient(label=label, mobile=label)
    if "@" in label:
        return Recipient(label=label, email=label)
    return None


OUTAGE = "outage"
# The signals of one outage: one incident, one code, updates as they change.
GROUPED = frozenset(
    {"route", "flapping", "actuation_failed", "drift", "modem", "paused_dead_route"}
)
# Information, not a page: no incident, no acknowledgement.
NOTICES = frozenset({"manual", "paused"})
_RANK = {"info": 0, "warning": 1, "critical": 2}
DEAD_ROUTE_REPEAT_S = 300.0  # "paused on a dead route" repeats at least this often


def group_of(key: str) -> str:
    return OUTAGE if key in GROUPED else key


def top_severity(members: Mapping[str, Mapping[str, Any]], default: str) -> str:
    sevs = [str(m.get("severity", default)) for m in members.values()]
    return max(sevs, key=lambda s: _RANK.get(s, 0)) if sevs else default


def outranks(a: str, b: str) -> bool:
    return _RANK.get(a, 0) > _RANK.get(b, 0)


@dataclass(frozen=True, slots=True)
class Escalate:
    to: str
    level: int


@dataclass(frozen=True, slots=True)
class Remind:
    number: int


Action = Escalate | Remind


def escalation_order(
    technicians: tuple[str, ...], rotation: tuple[str, ...] | None
) -> tuple[str, ...]:
    """Rotation order when there is one (the next person in it is the natural backup)."""
    return rotation if rotation else technicians


def next_in_line(order: tuple[str, ...], first: str, level: int) -> str | None:
    """Technician for escalation ``level`` (1, 2, ...) after ``first``; None when all were asked.

    ``first`` may be outside the rotation (an override): then the rotation follows from its top.
    """
    if first in order:
        i = order.index(first)
        chain = order[i + 1 :] + order[:i]
    else:
        chain = order
    return chain[level - 1] if 1 <= level <= len(chain) else None


def due_action(
    inc: Incident, now: datetime, settings: NotifierSettings, order: tuple[str, ...], first: str
) -> Action | None:
    """What an open, unacknowledged incident needs now (escalation before a reminder)."""
    if inc.state != "open" or inc.acked_at is not None:
        return None
    esc = settings.escalation_timeout_s
    if esc > 0 and now - inc.last_escalated_at >= timedelta(seconds=esc):
        to = next_in_line(order, first, inc.escalation_level + 1)
        if to is not None:
            return Escalate(to=to, level=inc.escalation_level + 1)
    rem = settings.reminder_interval_s
    if "paused_dead_route" in inc.members:  # callers reach nothing: repeat until acknowledged
        rem = min(rem, DEAD_ROUTE_REPEAT_S) if rem > 0 else DEAD_ROUTE_REPEAT_S
    last = inc.last_reminded_at or inc.opened_at
    if rem > 0 and now - last >= timedelta(seconds=rem):
        return Remind(number=inc.reminders + 1)
    return None


def subscribers_for(severity: str, settings: NotifierSettings) -> list[Recipient]:
    out: list[Recipient] = []
    addresses = next((a for s, a in settings.subscribers.items() if s == severity), ())
    for addr in addresses:
        if is_e164(addr):
            out.append(Recipient(label=addr, mobile=addr))
        elif is_email(addr):
            out.append(Recipient(label=addr, email=addr))
    return out


def backoff_s(attempts: int, retry: Retry) -> float:
    """Exponential backoff after ``attempts`` failed rounds (1 → initial)."""
    return float(min(retry.max_backoff_s, retry.initial_backoff_s * math.pow(2, attempts - 1)))


def _hm(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


def quiet_until(
    quiet: QuietHours | None, severity: str, now: datetime, default_tz: str
) -> datetime | None:
    """End of the quiet span if ``now`` falls in it for this severity, else None."""
    if quiet is None or severity not in quiet.severities:
        return None
    tz = ZoneInfo(quiet.timezone or default_tz)
    local = now.astimezone(tz)
    start_s, end_s = quiet.span.split("-")
    start, end = _hm(start_s), _hm(end_s)
    t = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (t >= start or t < end) if wraps else (start <= t < end)
    if not inside:
        return None
    day = local.date()
    if wraps and t >= start:
        day = day + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)
