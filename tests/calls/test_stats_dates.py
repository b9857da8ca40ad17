"""Daily call statistics on the days a calendar makes hard: the DST changes and New Year.

The day is the local day in ``schedule.timezone`` (Europe/Prague): 23 hours on 2026-03-29, 25 on
2026-10-25. Each case puts calls a minute either side of local midnight, where UTC, a fixed
offset or the wrong day would count them differently. The log's clock is injected, and the wall
clock is sent somewhere else entirely, so code that read the real clock instead would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from controller.calls.model import CallEvent, day_bounds
from controller.calls.service import CallLog
from controller.calls.store import CallStore
from tests.notifier.helpers import Clock, lab_config

TZ = lab_config().schedule.timezone


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def wall_clock_elsewhere() -> Iterator[None]:
    with time_machine.travel(datetime(2031, 7, 15, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def log(tmp_path: Path) -> Iterator[CallLog]:
    cfg = lab_config()
    store = CallStore(tmp_path / "calls.sqlite3")
    yield CallLog(store, cfg.notifier.calls, TZ, clock=Clock(utc("2027-02-01T12:00")))
    store.close()


async def record(log: CallLog, call_id: str, start: str, line: str = "primary") -> None:
    at = utc(start)
    event = CallEvent(
        call_id=call_id,
        start=at,
        answer=at + timedelta(seconds=5),
        end=at + timedelta(minutes=2),
        line=line,
    )
    assert (await log.record(event)).status == "new"


def test_the_schedule_zone_is_prague() -> None:
    assert TZ == "Europe/Prague"


@pytest.mark.parametrize(
    ("day", "hours", "first_utc"),
    [
        (date(2026, 3, 29), 23, "2026-03-28T23:00"),  # CET midnight, ends at CEST midnight
        (date(2026, 10, 25), 25, "2026-10-24T22:00"),  # CEST midnight, ends at CET midnight
        (date(2026, 12, 31), 24, "2026-12-30T23:00"),
        (date(2027, 1, 1), 24, "2026-12-31T23:00"),
    ],
)
def test_local_day_bounds(day: date, hours: int, first_utc: str) -> None:
    lo, hi = day_bounds(day, TZ)
    assert lo.astimezone(UTC) == utc(first_utc)
    # real hours (one zone on both sides would subtract wall times: always 24)
    assert hi.astimezone(UTC) - lo.astimezone(UTC) == timedelta(hours=hours)


# (the day asked, calls as (id, UTC start), the ids counted); the comments give the local time.
CASES = [
    pytest.param(
        date(2026, 3, 29),
        [
            ("sat-2359", "2026-03-28T22:59"),  # 23:59 CET on the 28th
            ("sun-0000", "2026-03-28T23:00"),  # 00:00 CET on the 29th
            ("sun-0300", "2026-03-29T01:00"),  # 03:00 CEST: 02:00-03:00 never happened
            ("sun-2359", "2026-03-29T21:59"),  # 23:59 CEST on the 29th
            ("mon-0000", "2026-03-29T22:00"),  # 00:00 CEST on the 30th
        ],
        ["sun-0000", "sun-0300", "sun-2359"],
        id="spring-forward-23h",
    ),
    pytest.param(
        date(2026, 10, 25),
        [
            ("sat-2359", "2026-10-24T21:59"),  # 23:59 CEST on the 24th
            ("sun-0000", "2026-10-24T22:00"),  # 00:00 CEST on the 25th
            ("sun-0230a", "2026-10-25T00:30"),  # 02:30 CEST
            ("sun-0230b", "2026-10-25T01:30"),  # 02:30 CET, the same wall time an hour later
            ("sun-2359", "2026-10-25T22:59"),  # 23:59 CET on the 25th
            ("mon-0000", "2026-10-25T23:00"),  # 00:00 CET on the 26th
        ],
        ["sun-0000", "sun-0230a", "sun-0230b", "sun-2359"],
        id="fall-back-25h",
    ),
    pytest.param(
        date(2026, 12, 31),
        [
            ("dec30-2359", "2026-12-30T22:59"),
            ("dec31-0000", "2026-12-30T23:00"),
            ("dec31-2359", "2026-12-31T22:59"),
            ("jan1-0000", "2026-12-31T23:00"),
        ],
        ["dec31-0000", "dec31-2359"],
        id="new-years-eve",
    ),
    pytest.param(
        date(2027, 1, 1),
        [
            ("dec31-2359", "2026-12-31T22:59"),
            ("jan1-0000", "2026-12-31T23:00"),
            ("jan1-2359", "2027-01-01T22:59"),
            ("jan2-0000", "2027-01-01T23:00"),
        ],
        ["jan1-0000", "jan1-2359"],
        id="new-years-day",
    ),
]


@pytest.mark.parametrize(("day", "calls", "counted"), CASES)
async def test_stats_count_the_calls_of_the_local_day(
    log: CallLog, day: date, calls: list[tuple[str, str]], counted: list[str]
) -> None:
    for call_id, start in calls:
        await record(log, call_id, start)
    s = log.daily_stats(day)
    assert s.day == day and s.timezone == TZ
    assert s.total.calls == len(counted)
    in_day = [c.call_id for c in log.store.calls_between(*day_bounds(day, TZ))]
    assert sorted(in_day) == sorted(counted)
    # the neighbouring days get the rest, none twice and none lost
    around = [log.daily_stats(day + timedelta(days=d)).total.calls for d in (-1, 1)]
    assert sum(around) + s.total.calls == len(calls)


async def test_stats_per_line_on_the_long_day(log: CallLog) -> None:
    await record(log, "a", "2026-10-24T22:00", line="primary")  # 00:00 CEST
    await record(log, "b", "2026-10-25T01:30", line="secondary")  # 02:30 CET
    await record(log, "c", "2026-10-25T22:59", line="secondary")  # 23:59 CET
    s = log.daily_stats(date(2026, 10, 25))
    assert {k: v.calls for k, v in s.lines.items()} == {"primary": 1, "secondary": 2}


@pytest.mark.parametrize(
    ("now", "today"),
    [
        ("2026-03-28T22:59", date(2026, 3, 28)),  # 23:59 CET (CEST would say the 29th)
        ("2026-03-28T23:00", date(2026, 3, 29)),  # 00:00 CET (UTC still says the 28th)
        ("2026-03-29T22:00", date(2026, 3, 30)),  # 00:00 CEST (CET would say 23:00 the 29th)
        ("2026-10-24T22:00", date(2026, 10, 25)),  # 00:00 CEST (UTC: the 24th)
        ("2026-10-25T22:30", date(2026, 10, 25)),  # 23:30 CET (CEST would say the 26th)
        ("2026-10-25T23:00", date(2026, 10, 26)),  # 00:00 CET (UTC: the 25th)
        ("2026-12-31T22:59", date(2026, 12, 31)),  # 23:59 CET (CEST: already 2027)
        ("2026-12-31T23:00", date(2027, 1, 1)),  # 00:00 CET: a new year in Prague, not in UTC
    ],
)
async def test_default_day_is_today_in_the_schedule_zone(
    tmp_path: Path, now: str, today: date
) -> None:
    store = CallStore(tmp_path / "calls.sqlite3")
    log = CallLog(store, lab_config().notifier.calls, TZ, clock=Clock(utc(now)))
    try:
        await record(log, "now", now)
        s = log.daily_stats()
        assert s.day == today
        assert s.total.calls == 1  # the call that just started is in today's statistics
    finally:
        store.close()
