"""The alerts API's shapes: the answers (views of incidents, deliveries, callbacks, statistics)
and the checked inputs (row ids, ISO dates, strict booleans), for ``controller.notifier.api``.

(No ``from __future__ import annotations``: pydantic and FastAPI read these at run time.)
"""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from controller.calls.model import CallerView, DailyStats, IsoAwareDatetime
from controller.calls.store import Callback
from controller.config.names import Line
from controller.notifier.incidents import Incident
from controller.notifier.rows import OutboxRow


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class IncidentView(_View):
    id: int
    key: str
    severity: str
    summary: str
    state: Literal["open", "resolved"]
    route: str | None
    opened_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assignee: str
    escalation_level: int

    @classmethod
    def of(cls, i: Incident) -> "IncidentView":
        return cls(
            id=i.id,
            key=i.key,
            severity=i.severity,
            summary=i.summary,
            state=i.state,
            route=i.route,
            opened_at=i.opened_at,
            resolved_at=i.resolved_at,
            acknowledged_at=i.acked_at,
            acknowledged_by=i.acked_by,
            assignee=i.assignee,
            escalation_level=i.escalation_level,
        )


class DeliveryView(_View):
    """A message's delivery status; no text and only the recipient's label (a name or address)."""

    key: str
    kind: str
    recipient: str
    state: str
    channel: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, r: OutboxRow) -> "DeliveryView":
        return cls(
            key=r.message.key,
            kind=r.message.kind,
            recipient=r.message.recipient,
            state=r.state,
            channel=r.channel,
            attempts=r.attempts,
            created_at=r.created_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
        )


class TimelineEntry(_View):
    at: datetime
    what: str


class IncidentDetail(IncidentView):
    detail: str
    timeline: list[TimelineEntry]
    deliveries: list[DeliveryView]


class CallbackView(_View):
    id: int
    call_id: str
    caller: str | None = Field(description="the caller's E.164 number, or null")
    caller_display: str = Field(description='the E.164 number or "withheld or unknown number"')
    caller_raw: str | None = Field(description="what the PBX sent, escaped (for the audit)")
    line: str
    missed_at: datetime
    state: Literal["open", "closed"]
    closed_at: datetime | None
    closed_by: str | None
    called_back_at: datetime | None
    note: str

    @classmethod
    def of(cls, c: Callback) -> "CallbackView":
        seen = CallerView.of(c.caller)  # one normalised form (controller.calls.model)
        return cls(
            id=c.id,
            call_id=c.call_id,
            caller=seen.caller,
            caller_display=seen.display,
            caller_raw=seen.raw,
            line=c.line,
            missed_at=c.missed_at,
            state=c.state,
            closed_at=c.closed_at,
            closed_by=c.closed_by,
            called_back_at=c.called_back_at,
            note=c.note,
        )


class CloseCallback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    called_back_at: IsoAwareDatetime | None = None
    # Shown in the callback list and the audit: printable text only (no control or bidi chars).
    note: Line = Field(default="", max_length=500)
    by: Line | None = Field(default=None, max_length=64, description="default: the token's name")


class CallRecorded(_View):
    status: Literal["new", "completed", "duplicate"]
    missed: bool
    callback_id: int | None
    problematic: bool


class StatsView(_View):
    day: date
    timezone: str
    total: dict[str, object]
    lines: dict[str, dict[str, object]]

    @classmethod
    def of(cls, s: DailyStats) -> "StatsView":
        return cls(
            day=s.day,
            timezone=s.timezone,
            total=s.total.as_dict(),
            lines={k: v.as_dict() for k, v in s.lines.items()},
        )


class Problem(_View):
    """An error's body (FastAPI's ``{"detail": "..."}``), for the OpenAPI document."""

    detail: str


# Row ids are SQLite INTEGERs (signed 64-bit): a larger number cannot name a row, and binding it
# would raise OverflowError inside the store (a 500) instead of a 422.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the row's id")]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    # pydantic's lax date would also take "1.5e-246" (Unix seconds: 1970-01-01); be ISO 8601.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("not an ISO 8601 date (e.g. 2026-11-25)")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _true_or_false(value: object) -> object:
    # pydantic's lax bool also reads "1", "0", "yes", "off"...; the schema says a boolean.
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("true or false")
    return value


QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
