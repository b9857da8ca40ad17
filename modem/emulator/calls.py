"""The network's call routing for the emulated SIM: where a call to the hotline number goes.

An operator's switch (MSC) routes a call to a subscriber by the call forwarding in force at that
instant (3GPP TS 22.082, TS 27.007 §7.11): unconditional (CFU) first; otherwise, where the SIM is
not reachable (not registered, no network), forwarding on not reachable (CFNRc); where it is
busy, forwarding on busy (CFB); else the SIM rings (``RING`` / ``+CLIP`` to the modem's clients)
and, as a modem never answers a voice call here, forwarding on no reply (CFNRy) after its timer.
A call with none of these set is not forwarded ("nowhere": the caller hears ringing or a tone).

Two records an oracle can read without trusting the controller, both kept here and served by the
control port (an AT-independent side channel, :mod:`modem.emulator.control`):

- the call history: time, caller, the voice forwarding in force, the rule applied, destination;
- the forwarding-write transcript: connection, when the command arrived and when the network
  applied it, the command, and the voice forwarding right after (what any later call would follow).

Only voice (class 1) forwarding routes calls. Times are ``time.time()`` (wall clock) so they line
up with other processes' logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from modem.emulator.network import REASON_NAMES, JsonDoc, NetworkState

HISTORY_LIMIT = 200_000
REGISTERED = (1, 5)  # +CREG <stat>: home, roaming


def voice_forwarding(net: NetworkState) -> dict[str, str | None]:
    """``{"unconditional": number|None, "busy": ..., "no-reply": ..., "not-reachable": ...}``."""
    out: dict[str, str | None] = {}
    for code, name in REASON_NAMES.items():
        fw = net.forwarding.get((code, 1))
        out[name] = fw.number if fw is not None and fw.active and fw.number else None
    return out


def route(forwarding: dict[str, str | None], *, reachable: bool, busy: bool) -> tuple[str, str]:
    """``(rule, destination)`` for one call; destination "" where the call is not forwarded.

    ``rule`` is the forwarding applied ("unconditional", "not-reachable", "busy", "no-reply")
    or, when none is set for the SIM's situation, "unreachable", "busy-tone" or "ringing"."""
    if forwarding.get("unconditional"):
        return "unconditional", str(forwarding["unconditional"])
    if not reachable:
        target = forwarding.get("not-reachable")
        return ("not-reachable", target) if target else ("unreachable", "")
    if busy:
        target = forwarding.get("busy")
        return ("busy", target) if target else ("busy-tone", "")
    target = forwarding.get("no-reply")
    return ("no-reply", target) if target else ("ringing", "")


@dataclass
class CallDesk:
    """The call history and the forwarding-write transcript of one emulated SIM."""

    net: NetworkState
    clock: Callable[[], float] = time.time
    history: list[JsonDoc] = field(default_factory=list)
    writes: list[JsonDoc] = field(default_factory=list)
    _serial: int = 0

    def call(self, caller: str, *, reachable: bool) -> JsonDoc:
        """Route one call to the SIM now; the entry recorded in the history is returned."""
        forwarding = voice_forwarding(self.net)
        rule, destination = route(forwarding, reachable=reachable, busy=self.net.busy)
        self._serial += 1
        entry: JsonDoc = {
            "id": self._serial,
            "t": self.clock(),
            "caller": caller,
            "forwarding": forwarding,
            "rule": rule,
            "destination": destination or None,
            "rings_sim": rule in ("no-reply", "ringing"),
        }
        self.history.append(entry)
        del self.history[:-HISTORY_LIMIT]
        return entry

    def note_write(self, connection: str, command: str, received: float) -> None:
        """A forwarding write the network executed (``+CCFC`` set/erase or an MMI code);
        ``received`` is when the command arrived, ``t`` (now) when the network applied it."""
        self.writes.append(
            {
                "t": self.clock(),
                "received": received,
                "connection": connection,
                "command": command,
                "forwarding": voice_forwarding(self.net),
            }
        )
        del self.writes[:-HISTORY_LIMIT]

    @staticmethod
    def since(rows: list[JsonDoc], after: float) -> list[JsonDoc]:
        return [r for r in rows if float(r["t"]) > after]
