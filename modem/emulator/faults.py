"""Fault injection knobs for the emulated modem, settable in-process or over the control port."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from modem.emulator.network import JsonDoc


@dataclass(slots=True)
class ErrorFault:
    """Answer the ``attempt``-th try of ``command`` (``"+CCFC"``, ``"+CMGS"``, ``"D"``) with an
    error.

    ``kind`` "cme" gives ``+CME ERROR: code`` (subject to AT+CMEE), "cms" ``+CMS ERROR: code``.
    """

    command: str
    attempt: int
    code: int
    kind: str = "cme"


@dataclass(slots=True)
class Faults:
    """What can go wrong. Defaults describe a healthy modem on a fast network."""

    latency: float = 0.05  # seconds a network operation takes (+CCFC, +CMGS, +COPS, +CUSD, ATD)
    latency_per_command: dict[str, float] = field(default_factory=dict)
    errors: list[ErrorFault] = field(default_factory=list)
    no_network: bool = False  # not registered; network operations fail with CME 30 / CMS 331
    garbage: str = ""  # bytes (as latin-1 text) written before every final result code
    mid_response_urc: str | None = None  # e.g. "RING": written between answer lines and OK
    drop_on: str | None = None  # a command name: drop the connection when it arrives (once)
    hang_on: str | None = None  # a command name: never answer it (once)
    wedged: bool = False  # firmware hung: answers nothing until AT+CFUN=1,1 resets it
    sticky_echo: bool = False  # ATE0 is accepted but echo stays on
    ccfc_unsupported: bool = False  # +CCFC answered with +CME ERROR: 4 (use MMI codes)
    ccfc_ignored: bool = False  # +CCFC set answered OK but the network keeps the old state
    pdu_unsupported: bool = False  # AT+CMGF=0 refused: text mode only
    refuse_data_classes: bool = False  # +CCFC with classes other than voice: CME 257
    # a command name → seconds before its answer, once (a late answer after a timeout)
    answer_delay: dict[str, float] = field(default_factory=dict)

    def latency_for(self, command: str) -> float:
        return self.latency_per_command.get(command, self.latency)

    def update(self, changes: JsonDoc) -> None:
        """Apply ``{"name": value}`` from the control port; unknown names are an error."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise KeyError(f"unknown fault: {name}")
            if name == "errors":
                value = [ErrorFault(**e) if isinstance(e, dict) else e for e in value]
            setattr(self, name, value)

    def to_json(self) -> JsonDoc:
        return asdict(self)
