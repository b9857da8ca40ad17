"""Calendars, as pure functions of ``now`` (UTC): business hours, holidays, who is on call.

The configured time zone is used only here, to read wall-clock spans and dates; everything else in
the controller works in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.config import Oncall, Route, Schedule, Technician

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _local(now: datetime, tz: str) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return now.astimezone(ZoneInfo(tz))


def _parse_span(span: str) -> tuple[time, time | None]:
    start, end = span.split("-")
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    return time(sh, sm), (None if eh == 24 else time(eh, em))


@dataclass(frozen=True, slots=True)
class Calendar:
    """Business hours and holidays; ``Calendar.from_config(schedule)``."""

    timezone: str
    spans: dict[str, tuple[tuple[time, time | None], ...]]
    holidays: frozenset[object]
    off_hours_route: Route

    @classmethod
    def from_config(cls, schedule: Schedule) -> Calendar:
        return cls(
            timezone=schedule.timezone,
            spans={
                day: tuple(_parse_span(s) for s in spans)
                for day, spans in schedule.business_hours.items()
            },
            holidays=frozenset(schedule.holidays),
            off_hours_route=schedule.off_hours_route,
        )

    @classmethod
    def always_open(cls) -> Calendar:
        return cls.from_config(Schedule())

    def is_business_hours(self, now: datetime) -> bool:
        local = _local(now, self.timezone)
        if local.date() in self.holidays:
            return False
        t = local.time().replace(tzinfo=None)
        for start, end in self.spans.get(_WEEKDAYS[local.weekday()], ()):
            if start <= t and (end is None or t < end):
                return True
        return False


def on_call(oncall: Oncall, now: datetime) -> Technician:
    """The technician on call at ``now``: an override if one covers it, else the rotation.

    Overrides are read in the on-call time zone when they carry no offset. Without a rotation the
    first technician listed is on call.
    """
    tz = ZoneInfo(oncall.timezone)
    by_name = {t.name: t for t in oncall.technicians}
    for ov in oncall.overrides:
        start = ov.start if ov.start.tzinfo else ov.start.replace(tzinfo=tz)
        end = ov.end if ov.end.tzinfo else ov.end.replace(tzinfo=tz)
        if start <= now < end:
            return by_name[ov.technician]
    rot = oncall.rotation
    if rot is None:
        return oncall.technicians[0]
    weeks = _handovers_before(rot.anchor, rot.handover_time, tz, now)
    return by_name[rot.order[weeks % len(rot.order)]]


def _handover(anchor: date, at: time, tz: ZoneInfo, week: int) -> datetime:
    """The instant of the ``week``-th hand-over: ``at`` local time, ``week`` weeks after ``anchor``.

    A wall time that occurs twice (DST fall-back) is taken at its first occurrence, one that does
    not occur (spring-forward gap) at the offset in force before the gap, as RFC 5545 3.3.5 reads
    such times; either way each week has exactly one hand-over instant, and they only increase.
    """
    day = anchor + timedelta(weeks=week)
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def _handovers_before(anchor: date, at: time, tz: ZoneInfo, now: datetime) -> int:
    """Which week of the rotation ``now`` falls in: the last hand-over at or before ``now``.

    Counted on real instants, not on naive local times: naive local time runs backwards for an hour
    at the DST fall-back, which would hand the phone back for that hour.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    naive = now.astimezone(tz).replace(tzinfo=None) - datetime.combine(anchor, at)
    week = naive // timedelta(weeks=1)
    # The naive estimate is off by at most one week near a hand-over; settle on the real instants.
    for _ in range(3):
        if _handover(anchor, at, tz, week) > now:
            week -= 1
        elif _handover(anchor, at, tz, week + 1) <= now:
            week += 1
        else:
            break
    return week
