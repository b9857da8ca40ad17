"""The rotation's hand-over inside the DST change hours: each week hands over once, never back.

Europe/Prague falls back on Sunday 2026-10-25 (03:00 CEST → 02:00 CET, so 02:00–03:00 happens
twice) and springs forward on Sunday 2026-03-29 (02:00 CET → 03:00 CEST, 02:30 never happens).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from controller.config import Oncall, Rotation, Technician
from controller.decide.schedule import on_call

TECHS = (
    Technician(name="jana", mobile="+420777100001"),
    Technician(name="petr", mobile="+420777100002"),
)


def _oncall(anchor: date, at: time) -> Oncall:
    return Oncall(
        timezone="Europe/Prague",
        technicians=TECHS,
        rotation=Rotation(order=("jana", "petr"), anchor=anchor, handover_time=at),
    )


FALL_BACK = _oncall(date(2026, 10, 18), time(2, 30))  # hands over to petr on 2026-10-25 02:30
SPRING = _oncall(date(2026, 3, 22), time(2, 30))  # hands over to petr on 2026-03-29 "02:30"


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        (datetime(2026, 10, 25, 0, 29, tzinfo=UTC), "jana"),  # 02:29 CEST, first pass
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "petr"),  # 02:30 CEST: hand-over
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "petr"),  # 02:00 CET, the hour again
        (datetime(2026, 10, 25, 1, 15, tzinfo=UTC), "petr"),  # 02:15 CET: still petr
        (datetime(2026, 10, 25, 1, 45, tzinfo=UTC), "petr"),  # 02:45 CET
        (datetime(2026, 11, 1, 1, 29, tzinfo=UTC), "petr"),  # next Sunday 02:29 CET
        (datetime(2026, 11, 1, 1, 30, tzinfo=UTC), "jana"),  # next Sunday 02:30 CET
    ],
)
def test_fall_back_hands_over_once(utc: datetime, who: str) -> None:
    assert on_call(FALL_BACK, utc).name == who


@pytest.mark.parametrize(
    ("utc", "who"),
    [
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "jana"),  # 01:59 CET
        (datetime(2026, 3, 29, 1, 29, tzinfo=UTC), "jana"),  # 03:29 CEST
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "petr"),  # the missing 02:30 in CET (RFC 5545)
        (datetime(2026, 4, 5, 0, 29, tzinfo=UTC), "petr"),  # next Sunday 02:29 CEST
        (datetime(2026, 4, 5, 0, 30, tzinfo=UTC), "jana"),  # next Sunday 02:30 CEST
    ],
)
def test_spring_forward_hands_over_once(utc: datetime, who: str) -> None:
    assert on_call(SPRING, utc).name == who


@pytest.mark.parametrize("oncall", [FALL_BACK, SPRING], ids=["fall", "spring"])
def test_a_year_in_minutes_changes_hands_once_a_week(oncall: Oncall) -> None:
    """A year, minute by minute around each Sunday night: one change a week, never a flip-back."""
    start = datetime(2026, 1, 3, 22, 0, tzinfo=UTC)  # a Saturday night
    changes = 0
    for week in range(52):
        night = start + timedelta(weeks=week)
        prev = on_call(oncall, night).name
        for minute in range(8 * 60):  # Saturday 22:00 to Sunday 06:00 UTC
            now = on_call(oncall, night + timedelta(minutes=minute)).name
            if now != prev:
                changes += 1
            prev = now
        assert on_call(oncall, night + timedelta(hours=8)).name != on_call(oncall, night).name
    assert changes == 52
