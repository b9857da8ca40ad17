"""Waiting for a condition that a live peer (daemon, emulator, ZooKeeper) makes true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def poll(
    what: str,
    check: Callable[[], T | None],
    timeout: float,
    *,
    interval: float = 0.02,
    context: Callable[[], str] = lambda: "",
) -> T:
    """``check()``'s first truthy answer within ``timeout`` seconds (bounded by the monotonic
    clock); a peer not answering yet (OSError, an HTTP error, a missing key or value) counts as
    not yet. On time-out an AssertionError names ``what`` and ``context()`` (a log tail, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = check()
        except (OSError, httpx.HTTPError, KeyError, ValueError):
            got = None
        if got:
            return got
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; {context()}")
