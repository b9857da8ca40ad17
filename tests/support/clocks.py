"""Clocks for tests and benchmarks that must not read today's date."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from controller.clock import Clock


def ticking_from(start: datetime) -> Clock:
    """A UTC clock that reads ``start`` now and then moves on at the monotonic clock's pace, for
    code that needs time to pass (freshness, backoff) but must not depend on the day it runs."""
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return now
