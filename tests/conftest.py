"""Suite-wide: the wall clock is pinned.

Every test runs with Python's wall clock (time, datetime and date "now" and "today") moved
to one fixed instant and ticking on from there (time-machine), so no test can depend on the day it
runs: a rotation parity, a holiday, a DST change or a "today" of the call statistics is the same
on every run. Monotonic clocks (asyncio, timeouts) and other processes are untouched. Tests that
compare times with another process (a daemon, ZooKeeper, a browser) are marked
``@pytest.mark.wall_clock`` and keep the real clock; tests that need other instants pin their own
(time-machine nests).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

# A Wednesday, 12:00 in Europe/Prague (summer time), within the lab's business hours; bob's week
# of the lab rotation (anchor 2026-01-05).
PINNED_NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_wall_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("wall_clock") is not None:
        yield
        return
    with time_machine.travel(PINNED_NOW, tick=True):
        yield
