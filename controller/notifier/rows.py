"""The notifier's rows as values: the messages queued, the outbox rows, the incidents read back.

Times are stored as UTC POSIX seconds (``REAL``) and come back as aware UTC datetimes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.notifier.incidents import Incident

Column = str | int | float | datetime | None  # a value for an incident column (datetime: UTC)


def ts(d: datetime) -> float:
    return d.timestamp()


def dt(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def dtr(x: float) -> datetime:
    """A required timestamp column."""
    return datetime.fromtimestamp(x, UTC)


@dataclass(frozen=True, slots=True)
class Message:
    """A message to queue. ``channels`` lists the channels allowed, in order of preference."""

    key: str  # idempotency key: incident/transition/recipient, independent of the channel
    kind: str  # open | resolve | remind | escalate | missed_call | long_call ...
    severity: str
    recipient: str
    channels: tuple[str, ...]
    sms_text: str
    subject: str
    body: str
    mobile: str | None = None
    email: str | None = None
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: Message
    state: str  # pending | sending | sent | failed | unknown | cancelled | expired
    attempts: int
    next_at: datetime
    created_at: datetime
    sent_at: datetime | None
    channel: str | None
    provider_id: str | None
    last_error: str | None
    cursor: str | None = None  # the channel the row waits on
    tried: frozenset[str] = frozenset()  # transient failures this round
    dead: frozenset[str] = frozenset()  # channels that refused it for good
    unknown_on: str | None = None  # the channel whose outcome was unknown


def incident_of(row: sqlite3.Row | None) -> Incident | None:
    """An ``incidents`` row as an ``Incident`` (None for no row)."""
    if row is None:
        return None
    return Incident(
        id=row["id"],
        key=row["key"],
        severity=row["severity"],
        summary=row["summary"],
        detail=row["detail"],
        route=row["route"],
        epoch=row["epoch"],
        code=row["code"],
        state=row["state"],
        opened_at=dtr(row["opened_at"]),
        resolved_at=dt(row["resolved_at"]),
        acked_at=dt(row["acked_at"]),
        acked_by=row["acked_by"],
        assignee=row["assignee"],
        escalation_level=row["escalation_level"],
        last_escalated_at=dtr(row["last_escalated_at"]),
        reminders=row["reminders"],
        last_reminded_at=dt(row["last_reminded_at"]),
        resolution=row["resolution"],
        members=json.loads(row["members"] or "{}"),
    )


def outbox_row_of(r: sqlite3.Row) -> OutboxRow:
    """An ``outbox`` row with its ``Message``."""
    m = Message(
        key=r["key"],
        kind=r["kind"],
        severity=r["severity"],
        recipient=r["recipient"],
        channels=tuple(c for c in r["channels"].split(",") if c),
        sms_text=r["sms_text"],
        subject=r["subject"],
        body=r["body"],
        mobile=r["mobile"],
        email=r["email"],
        incident_id=r["incident_id"],
    )
    return OutboxRow(
        id=r["id"],
        message=m,
        state=r["state"],
        attempts=r["attempts"],
        next_at=dtr(r["next_at"]),
        created_at=dtr(r["created_at"]),
        sent_at=dt(r["sent_at"]),
        channel=r["channel"],
        provider_id=r["provider_id"],
        last_error=r["last_error"],
        cursor=r["cursor"],
        tried=frozenset(c for c in r["tried"].split(",") if c),
        dead=frozenset(c for c in r["dead"].split(",") if c),
        unknown_on=r["unknown_on"],
    )
