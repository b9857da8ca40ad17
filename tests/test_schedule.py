"""Business hours, holidays and the on-call rotation, read in the configured time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from controller.config import (
    Oncall,
    OncallOverride,
    Rotation,
    Route,
    Schedule,
    Technician,
    load_config,
)
from controller.decide.schedule import Calendar, on_call

PRAGUE_HOURS = Schedule(
    timezone="Europe/Prague",
    business_hours={"mon": ("08:00-12:00", "13:00-17:00"), "sat": ("09:00-24:00",)},
    holidays=(date(2026, 12, 28),),
    off_hours_route=Route.ONCALL,
)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), True),  # Mon 08:00 CET: opens
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), False),  # Mon 07:59 CET
        (datetime(2026, 11, 23, 11, 30, tzinfo=UTC), False),  # Mon 12:30 CET: lunch
        (datetime(2026, 11, 23, 15, 59, tzinfo=UTC), True),  # Mon 16:59 CET
        (datetime(2026, 11, 23, 16, 0, tzinfo=UTC), False),  # Mon 17:00 CET: closed
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), False),  # Tuesday not listed
        (datetime(2026, 11, 28, 22, 59, tzinfo=UTC), True),  # Sat 23:59 CET, open to 24:00
        (datetime(2026, 12, 28, 9, 0, tzinfo=UTC), False),  # a Monday holiday
        (datetime(2026, 6, 1, 6, 0, tzinfo=UTC), True),  # Mon 08:00 CEST (summer time)
    ],
)
def test_business_hours(utc: datetime, open_: bool) -> None:
    assert Calendar.from_config(PRAGUE_HOURS).is_business_hours(utc) is open_


def test_default_schedule_is_always_open() -> None:
    cal = Calendar.always_open()
    assert cal.is_business_hours(datetime(2026, 12, 25, 3, 0, tzinfo=UTC))


TECHS = (
    Technician(name="jana", mobile="+420777100001"),
    Technician(name="petr", mobile="+420777100002"),
    Technician(name="eva", mobile="+420777100003"),
)


def _oncall(**kw: object) -> Oncall:
    return Oncall(
        timezone="Europe/Prague",
        technicians=TECHS,
        rotation=Rotation(
            order=("jana", "petr", "eva"), anchor=date(2026, 1, 5), handover_time=time(8, 0)
        ),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        (datetime(2026, 1, 5, 7, 0, tzinfo=UTC), "jana"),  # the anchor handover, 08:00 CET
        (datetime(2026, 1, 5, 6, 59, tzinfo=UTC), "eva"),  # the minute before: previous week
        (datetime(2026, 1, 12, 7, 0, tzinfo=UTC), "petr"),
        (datetime(2026, 1, 19, 7, 0, tzinfo=UTC), "eva"),
        (datetime(2026, 1, 26, 7, 0, tzinfo=UTC), "jana"),
        # after the switch to summer time the handover is still 08:00 local (06:00 UTC)
        (datetime(2026, 4, 6, 6, 0, tzinfo=UTC), "petr"),  # week 13
        (datetime(2026, 4, 6, 5, 59, tzinfo=UTC), "jana"),  # week 12
    ],
)
def test_rotation(utc: datetime, who: str) -> None:
    assert on_call(_oncall(), utc).name == who


def test_override_wins_and_naive_times_are_local() -> None:
    oc = _oncall(
        overrides=(
            OncallOverride(
                technician="petr",
                start=datetime(2026, 12, 24, 0, 0),
                end=datetime(2026, 12, 27, 0, 0),
            ),
        )
    )
    assert on_call(oc, datetime(2026, 12, 23, 23, 0, tzinfo=UTC)).name == "petr"  # 00:00 CET
    # The override ends at 00:00 local on the 27th (exclusive); the rotation (week 50) resumes.
    assert on_call(oc, datetime(2026, 12, 26, 22, 59, tzinfo=UTC)).name == "petr"
    assert on_call(oc, datetime(2026, 12, 26, 23, 0, tzinfo=UTC)).name == "eva"


def test_without_rotation_the_first_technician_is_on_call() -> None:
    oc = Oncall(technicians=TECHS)
    assert on_call(oc, datetime(2026, 3, 3, tzinfo=UTC)).name == "jana"


# ---- pinned instants: the lab's rotation, DST changes in Prague, New Year ------------------
# Every case names a UTC instant and asserts a value that a wrong zone (UTC, or a fixed CET/CEST
# offset) or a wrong day (another weekday, the holiday missed, weeks counted per year) would
# change; none reads today's date.

LAB_ONCALL = load_config(Path(__file__).resolve().parents[1] / "examples" / "lab.yaml").oncall


def test_the_lab_rotation_is_what_the_pinned_cases_assume() -> None:
    rot = LAB_ONCALL.rotation
    assert rot is not None and LAB_ONCALL.timezone == "Europe/Prague"
    assert (rot.anchor, rot.handover_time, rot.order) == (
        date(2026, 1, 5),
        time(9),
        ("alice", "bob"),
    )


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        (datetime(2026, 1, 5, 7, 59, tzinfo=UTC), "bob"),  # 08:59 CET on the anchor: week -1
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), "alice"),  # 09:00 CET: week 0 (even)
        (datetime(2026, 1, 12, 7, 59, tzinfo=UTC), "alice"),  # Monday 08:59 CET: still week 0
        (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), "bob"),  # 09:00 CET: week 1 (odd)
        (datetime(2026, 1, 12, 8, 30, tzinfo=UTC), "bob"),  # 09:30 CET (read in UTC: 08:30)
        (datetime(2026, 1, 19, 7, 59, tzinfo=UTC), "bob"),
        (datetime(2026, 1, 19, 8, 0, tzinfo=UTC), "alice"),  # week 2 (even)
        # summer time: the hand-over stays 09:00 local, 07:00 UTC (week 13, odd)
        (datetime(2026, 4, 6, 6, 59, tzinfo=UTC), "alice"),
        (datetime(2026, 4, 6, 7, 0, tzinfo=UTC), "bob"),
        (datetime(2026, 4, 6, 7, 30, tzinfo=UTC), "bob"),  # a fixed CET offset: still alice
    ],
)
def test_lab_rotation_at_both_parities_around_the_handover(utc: datetime, who: str) -> None:
    assert on_call(LAB_ONCALL, utc).name == who


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        # Week 51 (odd, bob) starts Monday 2026-12-28 09:00 CET; week 52 (alice) 2027-01-04.
        (datetime(2026, 12, 28, 7, 59, tzinfo=UTC), "alice"),
        (datetime(2026, 12, 28, 8, 0, tzinfo=UTC), "bob"),
        (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), "bob"),  # 23:59 CET on New Year's Eve
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "bob"),  # 00:00 CET, 1 January 2027
        (datetime(2027, 1, 4, 7, 59, tzinfo=UTC), "bob"),  # 2026 has 53 ISO weeks: not used
        (datetime(2027, 1, 4, 8, 0, tzinfo=UTC), "alice"),
    ],
)
def test_lab_rotation_across_the_year_boundary(utc: datetime, who: str) -> None:
    assert on_call(LAB_ONCALL, utc).name == who


DST_HOURS = Schedule(
    timezone="Europe/Prague",
    # On Sundays: the hour the clocks skip in March and repeat in October, and a working day.
    business_hours={"sun": ("02:00-03:00", "08:00-17:00")},
    off_hours_route=Route.ONCALL,
)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        # 2026-03-29: 02:00 CET → 03:00 CEST at 01:00 UTC; 02:00-03:00 does not happen that day.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), False),  # 01:59 CET
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), False),  # 03:00 CEST (UTC+1 would say 02:00)
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), False),  # 03:30 CEST
        (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), True),  # 08:00 CEST (UTC+1: 07:00, closed)
        (datetime(2026, 3, 29, 14, 59, tzinfo=UTC), True),  # 16:59 CEST
        (datetime(2026, 3, 29, 15, 0, tzinfo=UTC), False),  # 17:00 CEST (UTC+1: 16:00, open)
        # 2026-10-25: 03:00 CEST → 02:00 CET at 01:00 UTC; 02:00-03:00 happens twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True),  # 02:30 CEST (UTC+1: 01:30)
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), True),  # 02:30 CET (UTC+2: 03:30)
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), False),  # 03:00 CET
        (datetime(2026, 10, 25, 6, 59, tzinfo=UTC), False),  # 07:59 CET
        (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), True),  # 08:00 CET (UTC+2: 09:00 as well)
        (datetime(2026, 10, 25, 6, 30, tzinfo=UTC), False),  # 07:30 CET (UTC+2: 08:30, open)
        (datetime(2026, 10, 25, 15, 59, tzinfo=UTC), True),  # 16:59 CET (UTC+2: 17:59)
        (datetime(2026, 10, 25, 16, 0, tzinfo=UTC), False),  # 17:00 CET
        (datetime(2026, 10, 26, 7, 0, tzinfo=UTC), False),  # Monday: not listed
    ],
)
def test_business_hours_on_the_dst_change_days(utc: datetime, open_: bool) -> None:
    assert Calendar.from_config(DST_HOURS).is_business_hours(utc) is open_


def _sunday_rotation() -> Oncall:
    """Jana takes over on Sundays at 09:00 local from 2026-03-01; the DST days are Sundays."""
    return Oncall(
        timezone="Europe/Prague",
        technicians=TECHS[:2],
        rotation=Rotation(order=("jana", "petr"), anchor=date(2026, 3, 1), handover_time=time(9)),
    )


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        # 2026-03-29 is week 4 (even, jana) from 09:00 CEST = 07:00 UTC.
        (datetime(2026, 3, 29, 6, 59, tzinfo=UTC), "petr"),  # 08:59 CEST
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "jana"),  # 09:00 CEST
        (datetime(2026, 3, 29, 7, 30, tzinfo=UTC), "jana"),  # (UTC+1: 08:30, still petr)
        # 2026-10-25 is week 34 (even, jana) from 09:00 CET = 08:00 UTC.
        (datetime(2026, 10, 25, 7, 30, tzinfo=UTC), "petr"),  # 08:30 CET (UTC+2: 09:30, jana)
        (datetime(2026, 10, 25, 7, 59, tzinfo=UTC), "petr"),
        (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), "jana"),  # 09:00 CET
    ],
)
def test_handover_on_the_dst_change_days(utc: datetime, who: str) -> None:
    assert on_call(_sunday_rotation(), utc).name == who


NEW_YEAR = Schedule(
    timezone="Europe/Prague",
    business_hours={"thu": ("08:00-24:00",), "fri": ("00:00-24:00",), "sat": ("00:00-01:00",)},
    holidays=(date(2027, 1, 1),),
    off_hours_route=Route.ONCALL,
)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), True),  # Thu 31 Dec 23:59 CET
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), False),  # Fri 1 Jan 00:00 CET: the holiday
        (datetime(2027, 1, 1, 12, 0, tzinfo=UTC), False),  # the holiday, a listed Friday
        (datetime(2027, 1, 1, 22, 59, tzinfo=UTC), False),  # Fri 23:59 CET, still the holiday
        (datetime(2027, 1, 1, 23, 30, tzinfo=UTC), True),  # Sat 2 Jan 00:30 CET (UTC: 1 Jan)
        (datetime(2027, 1, 8, 12, 0, tzinfo=UTC), True),  # the next Friday: an ordinary day
    ],
)
def test_business_hours_across_new_year(utc: datetime, open_: bool) -> None:
    assert Calendar.from_config(NEW_YEAR).is_business_hours(utc) is open_
