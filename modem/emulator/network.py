"""The network's side of the emulated modem: what the operator's HLR and SMSC hold.

Kept apart from the AT interpreter so tests and the control port can read and change it directly
(drift: someone changed the forwarding behind our back). Semantics follow TS 27.007 §7.11: modes
0 disable (number kept, inactive), 1 enable, 3 registration (store and activate), 4 erasure; reason
4 covers 0-3 and 5 covers 1-3; classes are bits (1 voice, 2 data, 4 fax; 7 all three).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

JsonDoc = dict[str, Any]
"""A JSON document (the state file, the control port's requests and answers)."""

CLASS_BITS = (1, 2, 4)
REASON_NAMES = {0: "unconditional", 1: "busy", 2: "no-reply", 3: "not-reachable"}
REASON_GROUPS = {0: (0,), 1: (1,), 2: (2,), 3: (3,), 4: (0, 1, 2, 3), 5: (1, 2, 3)}


class NetworkRefusal(Exception):
    """The network refuses: carries a +CME ERROR code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class Forward:
    number: str | None = None
    type: int = 145
    active: bool = False
    time: int | None = None


@dataclass(slots=True)
class SentSms:
    """A message that reached the SMSC, parts joined; ``references`` are the +CMGS message refs."""

    to: str
    text: str
    parts: int
    references: list[int]
    encoding: str
    t: float = 0.0  # time.time() when the SMSC had the whole message (the lab's alert latency)


@dataclass(slots=True)
class StoredSms:
    sender: str
    text: str
    received_at: str
    read: bool = False
    part: tuple[int, int, int] | None = None  # (reference, parts, number) of a concatenated SMS


@dataclass(slots=True)
class NetworkState:
    forwarding: dict[tuple[int, int], Forward] = field(default_factory=dict)
    outbox: list[SentSms] = field(default_factory=list)
    inbox: dict[int, StoredSms] = field(default_factory=dict)
    registration: int = 1  # +CREG <stat>: 1 home, 5 roaming, 0/2/3/4 not registered
    rssi: int = 20  # +CSQ 0..31, 99 unknown
    operator: str = "EMU-NET"
    smsc: str = "+420603052000"  # +CSCA
    own_number: str = "+420601123456"  # +CNUM
    lac: str = "0FA1"  # +CREG=2 location area code
    tac: str = "2B67"  # +CEREG=2 tracking area code
    cell_id: str = "0001A2B3"
    sim_pin: str | None = None
    sim_state: str = "READY"  # READY | SIM PIN | SIM PUK
    pin_attempts_left: int = 3
    busy: bool = False  # the SIM is in a call: forwarding on busy applies (modem.emulator.calls)

    def forward(self, reason: int, cls: int) -> Forward:
        return self.forwarding.setdefault((reason, cls), Forward())

    def apply_ccfc(
        self, reason: int, mode: int, number: str | None, ntype: int, cls: int, time: int | None
    ) -> None:
        """A +CCFC set/erase as the network executes it; raises :class:`NetworkRefusal`."""
        if reason not in REASON_GROUPS or mode not in (0, 1, 3, 4):
            raise NetworkRefusal(3)
        if time is not None and (reason not in (2, 4, 5) or not 5 <= time <= 30 or time % 5):
            raise NetworkRefusal(3)
        bits = [b for b in CLASS_BITS if cls & b]
        if not bits:
            raise NetworkRefusal(263)
        for r in REASON_GROUPS[reason]:
            for b in bits:
                fw = self.forward(r, b)
                if mode == 3 or (mode == 1 and number):
                    if not number:
                        raise NetworkRefusal(3)
                    fw.number, fw.type, fw.active = number, ntype, True
                    fw.time = time if r == 2 else None
                elif mode == 1:
                    if fw.number is None:
                        raise NetworkRefusal(3)
                    fw.active = True
                elif mode == 0:
                    fw.active = False
                else:
                    fw.number, fw.active, fw.time = None, False, None

    def query_ccfc(self, reason: int, cls: int) -> list[str]:
        """The ``+CCFC:`` lines a status query returns (``+CCFC: 0,7`` when nothing is active)."""
        if reason not in REASON_NAMES:
            raise NetworkRefusal(3)
        lines = []
        for b in CLASS_BITS:
            fw = self.forwarding.get((reason, b))
            if cls & b and fw is not None and fw.active and fw.number:
                line = f'+CCFC: 1,{b},"{fw.number}",{fw.type}'
                if fw.time is not None:
                    line += f",,,{fw.time}"
                lines.append(line)
        return lines or ["+CCFC: 0,7"]

    def forwarding_view(self) -> dict[str, JsonDoc]:
        """``{reason: {"active", "number", "classes"}}`` for voice, as JSON for the state file."""
        view: dict[str, JsonDoc] = {}
        for r, name in REASON_NAMES.items():
            voice = self.forwarding.get((r, 1), Forward())
            classes = {
                str(b): asdict(fw)
                for (rr, b), fw in self.forwarding.items()
                if rr == r and fw.number
            }
            view[name] = {
                "active": voice.active,
                "number": voice.number if voice.active else None,
                "classes": classes,
            }
        return view

    def to_json(self) -> JsonDoc:
        return {
            "forwarding": self.forwarding_view(),
            "outbox": [asdict(m) for m in self.outbox],
            "inbox": {str(i): asdict(m) for i, m in self.inbox.items()},
            "smsc": self.smsc,
            "registration": self.registration,
            "rssi": self.rssi,
            "operator": self.operator,
            "sim_state": self.sim_state,
        }
