"""The ``modem`` actuator: unconditional call forwarding in the GSM modem, read back by query.

The number is E.164-validated here and again by the device, right before it can reach an AT
command. Reading back (+CCFC query) is the only proof of what the network holds (GSM-NOTES), and
on a real network each query takes seconds, so a switch queries as little as that proof allows:

- before the change, only when the current forwarding is not known (after start, after a failed
  or interrupted step) or when it is believed to be the target already (then a query may save the
  write); otherwise the write goes out directly (writing the same forward twice is harmless);
- after the change, exactly once: the device's write is verified by its own read-back, and
  ``verify`` right after a write of the same target reuses that read-back instead of asking again.

A read the loop has just made (the start-up read after a crash, see ``controller.loop.recovery``)
can be handed over with :meth:`ModemActuator.trust`: the next ``apply``/``verify`` of that number
use it as their proof and do no I/O, and a different number is written without a query first. On
taking over with a verified route record and no change marker, :meth:`ModemActuator.assume` makes
the record the belief (no proof): a different route is written at once, the same one is verified
by one query. A drift check, or a verify that follows no write and no trusted read, always queries.

``ForwardingDevice`` is the little the loop needs from a modem (``modem.device.ModemDevice`` is
the real one); this module turns the modem package's errors into :class:`ActuationError`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

from controller.config.actuators import ModemActuatorSettings
from controller.loop.actuators.base import ActuationError, RouteTarget, Verification
from modem.e164 import validate_e164
from modem.errors import ModemError

T = TypeVar("T")


class ForwardingDevice(Protocol):
    async def read_forwarding(self) -> str | None:
        """The number calls are unconditionally forwarded to, None when nothing is active."""
        ...

    async def write_forwarding(self, number: str) -> None:
        """Set the unconditional forward; returns only once a read-back shows ``number``."""
        ...


async def _translated(what: str, step: Awaitable[T]) -> T:
    """``step``'s result, with the modem package's errors as :class:`ActuationError`."""
    try:
        return await step
    except (ModemError, OSError) as exc:
        raise ActuationError(f"{what} failed: {exc}") from None


class ModemActuator:
    can_read_back = True

    def __init__(self, settings: ModemActuatorSettings, device: ForwardingDevice) -> None:
        self.settings = settings
        self.name = settings.label
        self.device = device
        self.last_seen: str | None = None  # the forwarding verify saw last (for the status)
        self._known = False  # whether ``_network`` is what the network held at the last read
        self._network: str | None = None
        self._proof: tuple[str | None] | None = None  # what the last write or trusted read
        # showed, not yet used: the next apply/verify of that number need no network operation

    def trust(self, number: str | None) -> None:
        """``number`` is what a read just showed (no forwarding: None); nothing else to ask."""
        self._known, self._network, self._proof = True, number, (number,)

    def assume(self, number: str) -> None:
        """Believe the network holds ``number`` (a verified record), without proof of it."""
        self._known, self._network, self._proof = True, number, None

    async def apply(self, target: RouteTarget) -> None:
        proof, self._proof = self._proof, None
        try:
            number = validate_e164(target.number)
        except ValueError as exc:
            raise ActuationError(f"refusing a non-E.164 number: {exc}") from None
        if proof == (number,):
            self._proof = proof  # held already, shown by the trusted read: verify reuses it
            return
        if (not self._known or self._network == number) and await self._read() == number:
            self._proof = (number,)  # idempotent: a network operation saved, and verify's too
            return
        self._known = False  # until the write is verified, nobody knows
        await _translated("setting forwarding", self.device.write_forwarding(number))
        self._known, self._network, self._proof = True, number, (number,)

    async def verify(self, target: RouteTarget) -> Verification:
        proof, self._proof = self._proof, None
        number = proof[0] if proof == (target.number,) else await self._read()
        self.last_seen = number
        observed = f"forwarding to {number}" if number else "no forwarding active"
        return Verification(number == target.number, observed)

    async def observe(self) -> str | None:
        return await self._read()

    async def close(self) -> None:
        return None

    async def _read(self) -> str | None:
        self._known = False
        number = await _translated("forwarding query", self.device.read_forwarding())
        self._known, self._network = True, number
        return number
