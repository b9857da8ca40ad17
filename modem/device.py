"""The one modem the daemon shares: :class:`ModemDevice`.

The reconcile loop's modem actuator, the health probe and the SMS notifier all use the same
device. It opens the driver (:class:`~modem.driver.Modem`) lazily on first use, and only while
``may_open`` allows it: a modem behind ser2net takes one client at a time, so in a cluster only
the leader may hold it, or followers' probes would keep taking the port from the leader's actuator.
The gate is asked before every open, the link's own reconnects included (``AtLink.may_connect``),
and ``release_if_barred()`` closes a port this node may no longer hold. Forwarding operations run
``urgent()``: they go before queued SMS and status commands.
A port that fails is closed and opened again on the next use, so a modem that was unplugged or a
ser2net that restarted heals without restarting the daemon; incoming SMS and calls keep arriving in
the same queue across such reopens.

Every number is E.164-validated right before it can reach an AT command. Errors are the modem
package's own (:class:`~modem.errors.ModemError` and its kinds, :class:`~modem.e164.InvalidNumber`
for a number that is not E.164); callers translate them to their own words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from modem.driver import Modem
from modem.e164 import normalize, validate_e164
from modem.errors import ModemUnavailable
from modem.link import gated, urgent
from modem.model import RECONNECT_DELAYS, RETRY_DELAYS, ModemEvent, ModemStatus
from modem.transport import redact_url

T = TypeVar("T")
INCOMING_LIMIT = 256
"""Incoming events kept while nobody reads them; later ones are dropped, not queued forever."""


@dataclass(frozen=True, slots=True)
class Readback:
    """What the network last showed for the unconditional forward, and when (UTC)."""

    number: str | None  # international form; None: no unconditional forward active
    at: datetime
    wrote: bool  # read back right after this device wrote it


def _now() -> datetime:
    return datetime.now(UTC)


class ModemDevice:
    """The shared, lazily (re)opened modem: forwarding, status, SMS and incoming events."""

    def __init__(
        self,
        url: str,
        *,
        pin: str | None = None,
        command_timeout: float = 10.0,
        network_timeout: float = 60.0,
        may_open: Callable[[], bool] | None = None,
        baudrate: int = 115200,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.url = url
        self.clock = clock
        self.last_readback: Readback | None = None
        """The last forwarding this device read from the network (for the cluster's status)."""
        self._may_open = may_open
        self._pin = pin
        self._baudrate = baudrate
        self._timeouts = (command_timeout, network_timeout)
        self._delays = (tuple(retry_delays), tuple(reconnect_delays))  # tests shorten them
        self._modem: Modem | None = None
        self._lock = asyncio.Lock()
        self._incoming: asyncio.Queue[ModemEvent] = asyncio.Queue(maxsize=INCOMING_LIMIT)
        self._pump: asyncio.Task[None] | None = None  # copies the open modem's events over
        self._registration_event = asyncio.Event()
        self.last_registration: int | None = None
        """The <stat> of the last +CREG / +CEREG URC (None: none seen since the port opened)."""
        self.last_status: tuple[ModemStatus, datetime] | None = None
        """The last ``status()`` answer and when it came (None: none yet)."""

    # --- operations --------------------------------------------------------------------------
    async def read_forwarding(self) -> str | None:
        """The number voice calls are unconditionally forwarded to (one ``+CCFC`` query), in
        international form; None when no unconditional forward is active."""
        with urgent():
            state = await self._use(lambda modem: modem.get_forwarding())
        number = normalize(state.number) if state.active and state.number else None
        self.last_readback = Readback(number, self.clock(), wrote=False)
        return number

    async def write_forwarding(self, number: str) -> None:
        """Forward calls unconditionally to ``number``, verified: the driver reads the forwarding
        back once after the change and raises :class:`~modem.errors.ForwardingNotVerified` unless
        the network shows ``number``. Returning means the network holds ``number``."""
        number = validate_e164(number)
        with urgent():
            await self._use(lambda modem: modem.set_forwarding(number))
        self.last_readback = Readback(number, self.clock(), wrote=True)

    async def status(self) -> ModemStatus:
        """SIM, registration, signal and operator (for the health probe); the last answer
        stays readable as ``last_status`` (for the metrics)."""
        st = await self._use(lambda modem: modem.status())
        self.last_status = (st, self.clock())
        return st

    async def send_sms(self, number: str, text: str, *, retry: bool = True) -> list[int]:
        """Send ``text`` to ``number`` (concatenated when long); the network's part references.
        ``retry=False``: no retries of transient errors (the caller has other channels)."""
        number = validate_e164(number)
        return await self._use(lambda modem: modem.send_sms(number, text, retry=retry))

    def incoming(self) -> asyncio.Queue[ModemEvent]:
        """Incoming SMS and calls from whichever modem is open now; one queue for the device's
        life, so a reopened port (unplugged modem, restarted ser2net) keeps feeding the same one.
        The port must have been opened (by any operation) for events to arrive."""
        return self._incoming

    def is_open(self) -> bool:
        """The port is open here now (``hotline cluster``: which node holds the modem)."""
        return self._modem is not None

    def may_open(self) -> bool:
        return self._may_open is None or self._may_open()

    async def open(self) -> None:
        """Open the port now (a new leader does so as soon as it may act, so its first switch
        does not wait for the init sequence); raises like any operation."""
        await self._open()

    async def release_if_barred(self) -> bool:
        """Close the port when this node may no longer hold it; True when it did."""
        if self._modem is None or self.may_open():
            return False
        await self.close()
        return True

    async def close(self) -> None:
        """Release the port; the next operation opens it again."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        modem, self._modem = self._modem, None
        if modem is not None:
            try:
                await modem.close()
            except Exception:  # closing a broken link must not mask the original error
                return None

    # --- the link ----------------------------------------------------------------------------
    async def _use(self, operation: Callable[[Modem], Awaitable[T]]) -> T:
        modem = await self._open()
        try:
            return await operation(modem)
        except OSError as exc:  # the port itself failed: reopen on the next use
            await self.close()
            raise ModemUnavailable(f"modem at {redact_url(self.url)} failed: {exc}") from exc

    async def _open(self) -> Modem:
        if self._may_open is not None and not self._may_open():
            await self.close()
            raise ModemUnavailable("the modem is held by the leader, not by this node")
        async with self._lock:
            if not self.may_open():  # the gate may have closed while we waited
                raise ModemUnavailable("the modem is held by the leader, not by this node")
            if self._modem is None:
                with gated(self._may_open):
                    self._modem = await self._open_driver()
                self._start_pump(self._modem)
            return self._modem

    async def _open_driver(self) -> Modem:
        return await Modem.open(
            self.url,
            baudrate=self._baudrate,
            pin=self._pin,
            command_timeout=self._timeouts[0],
            network_timeout=self._timeouts[1],
            retry_delays=self._delays[0],
            reconnect_delays=self._delays[1],
        )

    # --- what the health probe watches -------------------------------------------------------
    def busy(self) -> bool:
        """A command holds the modem now (a forwarding change and its read-back can take a
        minute): a status query would only queue behind it."""
        return self._modem is not None and self._modem.link.lock.locked()

    def registration_event(self) -> asyncio.Event:
        """Set when a +CREG / +CEREG URC reports a change; the health monitor waits on it (and
        clears it) so a lost registration is probed at once, not at the next interval."""
        return self._registration_event

    def _on_registration(self, stat: int) -> None:
        self.last_registration = stat
        self._registration_event.set()

    def _start_pump(self, modem: Modem) -> None:
        modem.registration_listeners.append(self._on_registration)
        source, sink = modem.subscribe(), self._incoming

        async def pump() -> None:
            while True:
                item = await source.get()
                if sink.full():
                    continue  # nobody reads: drop rather than grow without bound
                sink.put_nowait(item)

        self._pump = asyncio.get_running_loop().create_task(pump(), name="modem-events")
