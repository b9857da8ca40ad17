"""Calls as the PBX reports them, and the daily statistics computed from them (pure code).

A call event is the PBX's webhook: call id, caller, start, answer, end, line, agent. A call that
ended without an answer is *missed* (it goes on the callback list); an answered call longer than
the configured threshold is *problematic* (e-mailed for review). Statistics are per local day
(the schedule's time zone) and per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from logsafe import esc
from modem.e164 import is_e164

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(value: object) -> object:
    # pydantic's lax datetime would also take 0 or "1e9" (Unix seconds) or true; the schema
    # says an ISO 8601 date-time, and a PBX sending numbers should hear so, not get 1970.
    if isinstance(value, int | float) or (
        isinstance(value, str) and not _ISO_DATETIME.match(value)
    ):
        raise ValueError("not an ISO 8601 date-time with a zone (e.g. 2026-11-25T12:00:00Z)")
    return value


IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


class CallEvent(BaseModel):
    """The PBX's webhook body. Unknown keys are ignored: PBXs add fields of their own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    call_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@:+-]+$")
    caller: str | None = Field(default=None, max_length=64)
    start: IsoAwareDatetime
    answer: IsoAwareDatetime | None = None
    end: IsoAwareDatetime | None = None
    line: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    agent: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _ordered(self) -> CallEvent:
        if self.answer is not None and self.answer < self.start:
            raise ValueError("answer is before start")
        if self.end is not None and self.end < (self.answer or self.start):
            raise ValueError("end is before answer/start")
        return self


def caller_number(caller: str | None) -> str | None:
    """The caller as an E.164 number we may text back, or None (withheld, internal, junk)."""
    return caller if caller is not None and is_e164(caller) else None


WITHHELD = "withheld or unknown number"
"""What a caller that is not an E.164 number is shown as (API, dashboard, CLI, alerts)."""


@dataclass(frozen=True, slots=True)
class CallerView:
    """One caller as every presentation shows it (issue 16).

    The store keeps the PBX's raw value; what is shown is only ever ``caller`` (an E.164 number,
    or None) and ``display`` (that number, or ``WITHHELD``). A raw value such as
    ``"\u202e999000106024+"`` (which a browser renders as +420601000999), NUL, ESC or 0x1A is
    therefore "withheld or unknown"; ``raw`` keeps it for the audit, escaped (``logsafe.esc``).
    """

    caller: str | None
    display: str
    raw: str | None

    @classmethod
    def of(cls, raw: str | None) -> CallerView:
        number = caller_number(raw)
        return cls(number, number or WITHHELD, None if raw is None else esc(raw))


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    caller: str | None
    line: str
    agent: str | None
    start: datetime
    answer: datetime | None
    end: datetime | None

    @classmethod
    def from_event(cls, e: CallEvent) -> CallRecord:
        return cls(e.call_id, e.caller, e.line, e.agent, e.start, e.answer, e.end)

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def missed(self) -> bool:
        return self.end is not None and self.answer is None

    @property
    def wait(self) -> timedelta | None:
        """Ringing time: until answered, or until the caller gave up."""
        stop = self.answer or self.end
        return None if stop is None else stop - self.start

    @property
    def talk(self) -> timedelta | None:
        if self.answer is None or self.end is None:
            return None
        return self.end - self.answer


@dataclass(slots=True)
class LineStats:
    calls: int = 0
    answered: int = 0
    missed: int = 0
    in_progress: int = 0
    answer_seizure_ratio: float | None = None  # answered / calls
    average_duration_s: float | None = None  # talk time of answered, finished calls
    longest_wait_s: float | None = None
    _talk: list[float] = field(default_factory=list, repr=False)

    def add(self, c: CallRecord) -> None:
        self.calls += 1
        if c.answer is not None:
            self.answered += 1
        elif c.missed:
            self.missed += 1
        if not c.finished:
            self.in_progress += 1
        if c.talk is not None:
            self._talk.append(c.talk.total_seconds())
        if c.wait is not None:
            w = c.wait.total_seconds()
            self.longest_wait_s = w if self.longest_wait_s is None else max(self.longest_wait_s, w)

    def finish(self) -> LineStats:
        if self.calls:
            self.answer_seizure_ratio = round(self.answered / self.calls, 4)
        if self._talk:
            self.average_duration_s = round(sum(self._talk) / len(self._talk), 1)
        return self

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "answered": self.answered,
            "missed": self.missed,
            "in_progress": self.in_progress,
            "answer_seizure_ratio": self.answer_seizure_ratio,
            "average_duration_s": self.average_duration_s,
            "longest_wait_s": self.longest_wait_s,
        }


@dataclass(frozen=True, slots=True)
class DailyStats:
    day: date
    timezone: str
    total: LineStats
    lines: dict[str, LineStats]


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The local day as an interval of aware datetimes (23 or 25 hours on DST changes)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def daily_stats(calls: Iterable[CallRecord], day: date, tz: str) -> DailyStats:
    """Statistics of the calls that *started* on ``day`` (local time in ``tz``)."""
    lo, hi = day_bounds(day, tz)
    total = LineStats()
    lines: dict[str, LineStats] = {}
    for c in calls:
        if not lo <= c.start < hi:
            continue
        total.add(c)
        lines.setdefault(c.line, LineStats()).add(c)
    return DailyStats(
        day=day,
        timezone=tz,
        total=total.finish(),
        lines={k: v.finish() for k, v in sorted(lines.items())},
    )
