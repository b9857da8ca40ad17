"""The ``modem`` actuator: unconditional call forwarding in the GSM modem, read back by query.

The number is E.164-validated here again, right before it can reach an AT command. Reading back
(+CCFC query) is the only proof of what the network holds (GSM-NOTES), so ``verify`` always asks
the modem rather than trusting the set command's OK.

``ForwardingDevice`` is the little the loop needs from a modem; ``DriverDevice`` adapts
``modem.driver.Modem`` (the modem package's driver) to it, and translates its errors.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

from controller.config.actuators import ModemActuatorSettings
from controller.loop.actuators.base import ActuationError, RouteTarget, Verification
from modem.e164 import validate_e164


class ForwardingDevice(Protocol):
    async def read_forwarding(self) -> str | None:
        """The number calls are unconditionally forwarded to, None when nothing is active."""
        ...

    async def write_forwarding(self, number: str) -> None: ...


def _number_of(answer: Any) -> str | None:
    """The forwarded number from whatever the driver returns for a query."""
    if answer is None or isinstance(answer, str):
        return normalize(answer) if answer else None
    if isinstance(answer, list | tuple):  # one entry per class: take the active voice entry
        for item in answer:
            found = _number_of(item)
            if found:
                return found
        return None
    if getattr(answer, "active", True) is False:
        return None
    number = getattr(answer, "number", None)
    return normalize(str(number)) if number else None


def normalize(number: str) -> str:
    """Networks may report an international number (type 145) without its ``+`` or with 00; we
    only ever register international numbers, so both mean ``+``."""
    n = number.strip()
    if n.startswith("00") and n[2:].isdigit():
        return "+" + n[2:]
    if n.isdigit():
        return "+" + n
    return n


class DriverDevice:
    """Adapts ``modem.driver.Modem`` (``get_forwarding``/``set_forwarding``) to the loop."""

    def __init__(self, modem: Any) -> None:
        self.modem = modem

    @staticmethod
    def _errors() -> tuple[type[BaseException], ...]:
        try:
            from modem.errors import ModemError
        except ImportError:  # the driver package is not installed: only OSError can occur
            return (OSError,)
        return (ModemError, OSError)

    async def read_forwarding(self) -> str | None:
        try:
            answer = self.modem.get_forwarding()  # the driver's default: unconditional
            if inspect.isawaitable(answer):
                answer = await answer
        except self._errors() as exc:
            raise ActuationError(f"forwarding query failed: {exc}") from None
        return _number_of(answer)

    async def write_forwarding(self, number: str) -> None:
        try:
            result = self.modem.set_forwarding(number)
            if inspect.isawaitable(result):
                await result
        except self._errors() as exc:
            raise ActuationError(f"setting forwarding failed: {exc}") from None


class ModemActuator:
    can_read_back = True

    def __init__(self, settings: ModemActuatorSettings, device: ForwardingDevice) -> None:
        self.settings = settings
        self.name = settings.label
        self.device = device
        self.last_seen: str | None = None  # the forwarding read back last (for the status)

    async def apply(self, target: RouteTarget) -> None:
        try:
            number = validate_e164(target.number)
        except ValueError as exc:
            raise ActuationError(f"refusing a non-E.164 number: {exc}") from None
        if await self.device.read_forwarding() == number:
            return  # idempotent: a network operation saved
        await self.device.write_forwarding(number)

    async def verify(self, target: RouteTarget) -> Verification:
        number = await self.device.read_forwarding()
        self.last_seen = number
        observed = f"forwarding to {number}" if number else "no forwarding active"
        return Verification(number == target.number, observed)

    async def observe(self) -> str | None:
        return await self.device.read_forwarding()

    async def close(self) -> None:
        return None


class ModemLink:
    """One shared, lazily (re)opened ``modem.driver.Modem`` for the actuator, the health probe
    and the SMS notifier. A failed operation closes the link; the next use opens it again, so a
    modem that was unplugged or a ser2net that restarted heals without restarting the daemon."""

    def __init__(
        self,
        url: str,
        *,
        pin: str | None,
        command_timeout: float,
        network_timeout: float,
        may_open: Callable[[], bool] | None = None,
        **driver_options: Any,
    ) -> None:
        self.url = url
        # A modem behind ser2net takes one client at a time: in a cluster only the leader may
        # hold it, or followers' probes would keep taking the port from the leader's actuator.
        self._may_open = may_open
        self._pin = pin
        self._timeouts = (command_timeout, network_timeout)
        self._options = driver_options  # e.g. retry_delays, reconnect_delays (tests shorten them)
        self._modem: Any = None
        self._lock: Any = None
        self._incoming: Any = None  # queue of IncomingSms | IncomingCall, kept across reopens
        self._pump: Any = None  # task copying the open modem's events into ``_incoming``

    async def _get(self) -> Any:
        import asyncio

        if self._may_open is not None and not self._may_open():
            await self.close()
            from modem.errors import ModemUnavailable

            raise ModemUnavailable("the modem is held by the leader, not by this node")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._modem is None:
                from modem.driver import Modem

                opened = Modem.open(
                    self.url,
                    pin=self._pin,
                    command_timeout=self._timeouts[0],
                    network_timeout=self._timeouts[1],
                    **self._options,
                )
                self._modem = await opened if inspect.isawaitable(opened) else opened
                self._start_pump(self._modem)
            return self._modem

    def incoming(self) -> Any:
        """Incoming SMS and calls from whichever modem is open now; one queue for the daemon's
        life, so a reopened port (unplugged modem, restarted ser2net) keeps feeding the same one."""
        import asyncio

        if self._incoming is None:
            self._incoming = asyncio.Queue(maxsize=256)
        return self._incoming

    def _start_pump(self, modem: Any) -> None:
        import asyncio

        subscribe = getattr(modem, "subscribe", None)
        if subscribe is None:
            return
        source, sink = subscribe(), self.incoming()

        async def pump() -> None:
            while True:
                item = await source.get()
                if sink.full():
                    continue  # nobody reads: drop rather than grow without bound
                sink.put_nowait(item)

        self._pump = asyncio.get_running_loop().create_task(pump(), name="modem-events")

    async def _call(self, name: str, *args: Any) -> Any:
        modem = await self._get()
        try:
            result = getattr(modem, name)(*args)
            return await result if inspect.isawaitable(result) else result
        except OSError:
            await self.close()
            raise

    async def get_forwarding(self, *reason: Any) -> Any:
        return await self._call("get_forwarding", *reason)

    async def set_forwarding(self, number: str, *reason: Any) -> Any:
        return await self._call("set_forwarding", validate_e164(number), *reason)

    async def status(self) -> Any:
        return await self._call("status")

    async def send_sms(self, number: str, text: str) -> Any:
        return await self._call("send_sms", validate_e164(number), text)

    async def close(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        modem, self._modem = self._modem, None
        if modem is not None and hasattr(modem, "close"):
            try:
                result = modem.close()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # closing a broken link must not mask the original error
                return None
