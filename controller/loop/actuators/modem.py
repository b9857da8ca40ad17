"""The ``modem`` actuator: unconditional call forwarding in the GSM modem, read back by query.

The number is E.164-validated here and again by the device, right before it can reach an AT
command. Reading back (+CCFC query) is the only proof of what the network holds (GSM-NOTES), and
on a real network each query takes seconds, so a switch queries as little as that proof allows:

- before the change, only when the current forwarding is not known (after start, after a failed
  or interrupted step) or when it is believed to be the target already (then a query may save the
  write); otherwise the write goes out directly (writing the same forward twice is harmless);
- after the change, exactly once: the device's write is verified by its own read-back, and
  ``verify`` right after a write of the same target reuses that read-back instead of asking again.
  A drift check, or a verify that follows no write, always queries.

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
        self._written: str | None = None  # written and verified by the last apply, not yet used

    async def apply(self, target: RouteTarget) -> None:
        self._written = None
        try:
            number = validate_e164(target.number)
        except ValueError as exc:
            raise ActuationError(f"refusing a non-E.164 number: {exc}") from None
        if (not self._known or self._network == number) and await self._read() == number:
            return  # idempotent: a network operation saved
        self._known = False  # until the write is verified, nobody knows
        await _translated("setting forwarding", self.device.write_forwarding(number))
        self._known, self._network, self._written = True, number, number

    async def verify(self, target: RouteTarget) -> Verification:
        written, self._written = self._written, None
        number = written if written == target.number else await self._read()
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
