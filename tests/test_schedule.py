"""Business hours, holidays and the on-call rotation, read in the configured time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from controller.config import Oncall, OncallOverride, Rotation, Route, Schedule, Technician
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
