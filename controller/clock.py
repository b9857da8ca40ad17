"""Wall time for events: always UTC, always passed in where a test must pin it.

Monotonic clocks time timeouts and hysteresis; this one stamps events, incidents and calls. Code
that needs "now" takes a ``Clock`` argument defaulting to ``utcnow``, so tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current UTC time, timezone-aware."""
    return datetime.now(UTC)
