"""The lab's one clock: the wall clock, read in one place.

The lab's records (calls placed, faults begun and ended, mails received, CPU samples) are
compared with timestamps other processes wrote (the emulator's call history and forwarding
transcript, ZooKeeper's epoch record), so they must be on the same real clock; the tests that run
the lab are marked ``wall_clock``. Code takes ``wall`` from here, so a test can swap it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def wall() -> float:
    """Seconds since the epoch, as the other processes of the lab stamp them."""
    return time.time()


def wall_dt() -> datetime:
    return datetime.fromtimestamp(wall(), UTC)
