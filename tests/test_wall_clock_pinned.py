"""The suite-wide pin of tests/conftest.py is in force: a test that reads "today" sees the pinned
day, whatever day the suite runs (this fails on any other day if the pin is lost)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from tests.conftest import PINNED_NOW


def test_the_wall_clock_reads_the_pinned_instant_and_ticks_on() -> None:
    now = datetime.now(UTC)
    assert PINNED_NOW <= now < PINNED_NOW + timedelta(minutes=10)
    assert date.today() == PINNED_NOW.date()
    assert abs(time.time() - now.timestamp()) < 60
