"""A waiting line on a terminal: ``waiting for the verified result… 12 s`` while a call runs.

Only when stdout is a terminal (a person watching); piped or redirected output stays exactly the
answer. The line is drawn on stdout with a carriage return and erased before the answer prints.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

T = TypeVar("T")
TICK_S = 1.0


def wait_with_progress(
    label: str, work: Callable[[], T], out: TextIO | None = None, tick_s: float = TICK_S
) -> T:
    """``work()``'s result; on a terminal, ``label`` and the elapsed seconds every ``tick_s``."""
    stream = out if out is not None else sys.stdout
    if not stream.isatty():
        return work()
    done = threading.Event()
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=run, name="hotline-cli-call", daemon=True)
    started = time.monotonic()
    worker.start()
    shown = False
    while not done.wait(tick_s):
        stream.write(f"\r{label}… {time.monotonic() - started:.0f} s ")
        stream.flush()
        shown = True
    if shown:
        stream.write("\r\033[K")
        stream.flush()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]
