"""Where a forwarded call goes in the lab: a line's number → a SIP trunk, a technician's mobile →
an emulated handset. Anything else (or no forwarding at all) is "nowhere": not reached."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SipLine:
    name: str  # the controller's line name (primary, secondary)
    trunk: str  # the trunk's name (a key of the runner's trunks)
    did: str  # the number dialled at the trunk


@dataclass
class Handsets:
    """Technicians' mobiles: a handset answers unless switched off."""

    on: dict[str, bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def switch(self, number: str, on: bool) -> None:
        with self._lock:
            self.on[number] = on

    def answers(self, number: str) -> bool:
        with self._lock:
            return self.on.get(number, False)


@dataclass
class DialPlan:
    lines: dict[str, SipLine]  # number → line
    handsets: Handsets

    def target(self, number: str | None) -> SipLine | str | None:
        """A SipLine, a handset's number, or None for a forward to nowhere."""
        if number is None:
            return None
        if number in self.lines:
            return self.lines[number]
        return number if number in self.handsets.on else None
