"""What the modem reports, as plain values: forwarding, identity, status, incoming events.

Kept apart from the driver (:mod:`modem.driver`) so the device (:mod:`modem.device`), the CLI and
the health probe can name these types without the AT machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

RETRY_DELAYS = (1.0, 3.0, 9.0)
"""Seconds between retries of a transient network error (CME 30, CMS 331...)."""
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)
"""Seconds between attempts to reopen a lost port."""


class ForwardReason(StrEnum):
    UNCONDITIONAL = "unconditional"
    BUSY = "busy"
    NO_REPLY = "no-reply"
    NOT_REACHABLE = "not-reachable"


@dataclass(frozen=True, slots=True)
class ForwardingState:
    reason: ForwardReason
    active: bool
    number: str | None


@dataclass(frozen=True, slots=True)
class ModemInfo:
    manufacturer: str
    model: str
    imei: str
    revision: str | None


@dataclass(frozen=True, slots=True)
class ModemStatus:
    sim_ready: bool
    sim_state: str
    registered: bool
    roaming: bool
    registration: str
    signal_dbm: int | None
    operator: str | None
    can_change_forwarding: bool = False
    """SIM ready and registered: a +CCFC (or TS 22.030 code) can reach the network now."""
    forwarding_via: str = "+CCFC"
    """How this modem changes forwarding: "+CCFC", or "MMI codes" once +CCFC was refused."""


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sender: str
    text: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class IncomingCall:
    caller: str | None
    at: datetime


ModemEvent = IncomingSms | IncomingCall
