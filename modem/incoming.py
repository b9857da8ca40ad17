"""Incoming concatenated SMS put back together (TS 23.040 §9.2.3.24.1), without I/O.

A long message arrives as parts, each stored at its own index and announced by its own
``+CMTI``; each part carries (reference, parts, number) in its user-data header. The driver
reads and deletes every part as it comes and hands the parts here; the joined text comes out once
the last one is in. At most ``MAX_PENDING`` messages wait for parts at once: past that the oldest
is given up as far as it got (and says so), so a lost part cannot hold memory for ever.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_PENDING = 16


class Reassembly:
    def __init__(self, give_up: Callable[[str, str, int, int], None]) -> None:
        """``give_up(sender, partial_text, parts_seen, parts_total)`` for an evicted message."""
        self._parts: dict[tuple[str, int, int], dict[int, str]] = {}
        self._give_up = give_up

    @property
    def pending(self) -> int:
        return len(self._parts)

    def add(self, sender: str, info: tuple[int, int, int], text: str) -> str | None:
        """One part; the whole text when this part completed the message, else None."""
        ref, total, number = info
        if not 1 <= number <= total:
            return None
        key = (sender, ref, total)
        parts = self._parts.setdefault(key, {})
        parts[number] = text
        if len(parts) == total:
            del self._parts[key]
            return "".join(parts[i] for i in range(1, total + 1))
        if len(self._parts) > MAX_PENDING:
            (old_sender, _, old_total), old = next(iter(self._parts.items()))
            del self._parts[(old_sender, _, old_total)]
            self._give_up(old_sender, "".join(old[i] for i in sorted(old)), len(old), old_total)
        return None
