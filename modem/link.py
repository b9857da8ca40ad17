"""The command channel: one AT command in flight, timeouts, resync, retries, reconnect, reset.

:class:`AtLink` joins the sans-I/O :class:`~modem.at.AtProtocol` to a
:class:`~modem.transport.SerialTransport`. A pump task reads bytes, feeds the parser and routes
events: the answer to the pending command goes to its waiter, URCs go to ``on_urc`` whenever they
arrive (mid-command included). A lock allows one command at a time.

Recovery, from mild to drastic, every step bounded:

1. a transient ``+CME``/``+CMS`` error (30, 31, 258; 38, 42, 331...) → retry after ``retry_delays``;
2. a timeout → forget the command, ESC + ``AT`` until the modem answers again (3 tries);
3. no answer even to ``AT`` → ``AT+CFUN=1,1`` (modem reset) as a last resort, drop the port;
4. a lost port (USB re-enumeration, ser2net restart) → reopen with ``reconnect_delays`` and run the
   init sequence again; a command that died with the port is retried once after reconnecting.

Who may open: ``may_connect`` (when set) is asked right before *every* open of the port, the first
one, a command's reconnect and the background reconnect after a port loss alike. A modem server
that hands the port to the newest client (ser2net ``kickolduser``) would otherwise let a deposed
cluster leader take the modem from the real one just by reconnecting.

Priority: the lock serves ``urgent()`` callers (forwarding changes and their read-back) before the
others (SMS, status probes), first come first served within each class; an SMS in the queue delays a
forwarding command by at most the one command in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar

from logsafe import esc
from modem.at import AtProtocol, Prompt, Response, Urc
from modem.commands import spec_for
from modem.errors import ModemError, ModemTimeout, ModemUnavailable, error_from_final
from modem.transport import SerialTransport, redact_url

log = logging.getLogger("modem")


def secret_free(line: str) -> str:
    """A command line fit for logs (the SIM PIN never appears)."""
    return "AT+CPIN=<redacted>" if line.upper().startswith("AT+CPIN=") else line


_URGENT: ContextVar[bool] = ContextVar("modem_urgent", default=False)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Commands run in this context (this task) go before the others waiting for the modem."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


_GATE: ContextVar[Callable[[], bool] | None] = ContextVar("modem_gate", default=None)


@contextlib.contextmanager
def gated(may_connect: Callable[[], bool] | None) -> Iterator[None]:
    """Links created in this context take ``may_connect`` as their gate (for a caller that builds
    the link through ``Modem.open``: its first open's retries are gated too)."""
    token = _GATE.set(may_connect)
    try:
        yield
    finally:
        _GATE.reset(token)


class PriorityLock:
    """An ``asyncio.Lock`` whose urgent waiters (see ``urgent()``) are served first.

    Handed over directly on release, so a newcomer never overtakes a waiter of its class. An
    urgent holder that releases while only ordinary waiters queue hands over on the next loop
    iteration: a task running several urgent commands in a row (``AT+CSCS``, ``AT+CCFC=``, the
    read-back) takes the lock again first, so an SMS cannot slip between them."""

    def __init__(self) -> None:
        self._held = False
        self._queues: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())

    def locked(self) -> bool:
        return self._held

    async def acquire(self) -> bool:
        urgent_now = _URGENT.get()
        if not self._held and not self._queues[0] and (urgent_now or not self._queues[1]):
            self._held = True
            return True
        queue = self._queues[0 if urgent_now else 1]
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over, then cancelled
                self.release()
            raise
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(waiter)
        return True

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("release of an unlocked PriorityLock")
        self._held = False
        if _URGENT.get() and not self._queues[0] and self._queues[1]:
            asyncio.get_running_loop().call_soon(self._hand_over)
        else:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._held:
            return  # an urgent caller took it meanwhile; its release hands over
        for queue in self._queues:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    self._held = True
                    waiter.set_result(None)  # the lock passes to it, still held
                    return

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class AtLink:
    def __init__(
        self,
        url: str,
        *,
        baudrate: int,
        command_timeout: float,
        network_timeout: float,
        retry_delays: Sequence[float],
        reconnect_delays: Sequence[float],
        on_urc: Callable[[Urc], None],
        initialize: Callable[[], Awaitable[None]],
        may_connect: Callable[[], bool] | None = None,
    ) -> None:
        self.url, self.baudrate = url, baudrate
        self.command_timeout, self.network_timeout = command_timeout, network_timeout
        self.retry_delays, self.reconnect_delays = tuple(retry_delays), tuple(reconnect_delays)
        self._on_urc, self._initialize = on_urc, initialize
        self.may_connect = may_connect if may_connect is not None else _GATE.get()
        """Asked before every open of the port (None: always allowed); see the module docstring."""
        self.lock = PriorityLock()
        self._transport: SerialTransport | None = None
        self._proto = AtProtocol()
        self._pump_task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[Response | Prompt] | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = False

    # --- connection ------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the port and run the init sequence (lock held), bounded by ``reconnect_delays``."""
        last: ModemError | None = None
        for delay in (0.0, *self.reconnect_delays):
            if self._closing:
                break
            await asyncio.sleep(delay)
            await self._drop_transport()
            if self.may_connect is not None and not self.may_connect():
                raise ModemUnavailable("not opening the modem: this node may not hold it now")
            try:
                self._transport = await SerialTransport.open(self.url, self.baudrate)
                self._proto = AtProtocol()
                self.connected = True
                self._pump_task = asyncio.get_running_loop().create_task(
                    self._pump(self._transport, self._proto)
                )
                await self._initialize()
                log.info("event=modem_connected url=%s", redact_url(self.url))
                return
            except (ModemUnavailable, ModemTimeout) as exc:
                last = exc
                log.warning(
                    "event=modem_connect_failed url=%s error=%s", redact_url(self.url), esc(exc)
                )
            except BaseException:  # a refusal (wrong PIN, SIM PUK...) or cancellation: no retry
                await self._drop_transport()
                raise
        await self._drop_transport()
        raise ModemUnavailable(f"modem at {redact_url(self.url)} unavailable: {last}")

    async def _drop_transport(self) -> None:
        self.connected = False
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
            self._pump_task = None
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    async def close(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await self._drop_transport()

    async def _pump(self, transport: SerialTransport, proto: AtProtocol) -> None:
        try:
            while True:  # ends when the port fails or the link closes it (cancel)
                proto.receive_data(await transport.read())
                while (event := proto.next_event()) is not None:
                    self._route(event)
        except ModemUnavailable as exc:
            self.connected = False
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(exc)
            log.warning("event=modem_port_lost url=%s error=%s", redact_url(self.url), esc(exc))
            if self.may_connect is not None and not self.may_connect():
                log.info("event=modem_not_reopened reason=not-allowed url=%s", redact_url(self.url))
            elif not self._closing:
                self._spawn(self._background_reconnect())

    def _route(self, event: Response | Urc | Prompt) -> None:
        if isinstance(event, Urc):
            if event.line in ("OK", "ERROR"):
                log.info("event=modem_stray_final line=%s", esc(event.line))
                return
            try:
                self._on_urc(event)
            except Exception:
                log.exception("event=urc_handler_failed line=%r", event.line[:80])
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(event)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn(self, coro: Awaitable[None]) -> None:
        self._spawn(coro)

    async def _background_reconnect(self) -> None:
        """Keep URCs (incoming calls, SMS) flowing after a port loss, not only at next command."""
        async with self.lock:
            if self.connected or self._closing:
                return
            with contextlib.suppress(ModemError):
                await self.connect()

    # --- commands --------------------------------------------------------------------------
    async def run(self, line: str, *, body: str | None = None, retry: bool = True) -> Response:
        """Run one command, with bounded retries of transient errors and one reconnect."""
        delays = list(self.retry_delays) if retry else []
        retries, reconnected = 0, False
        for _ in range(len(delays) + 2):
            try:
                async with self.lock:
                    return await self.execute(line, body=body)
            except ModemUnavailable:
                if reconnected or self._closing:
                    raise
                reconnected = True
            except ModemError as exc:
                if not exc.transient or retries >= len(delays):
                    raise
                delay, retries = delays[retries], retries + 1
                log.info(
                    "event=modem_retry command=%s code=%s delay=%s", exc.command, exc.code, delay
                )
                await asyncio.sleep(delay)
        raise ModemUnavailable(f"modem at {redact_url(self.url)} unavailable")

    async def execute(
        self,
        line: str,
        *,
        body: str | None = None,
        timeout: float | None = None,
        resync: bool = True,
    ) -> Response:
        """One command with the lock held by the caller."""
        if not self.connected:
            await self.connect()
        spec = spec_for(line)
        if timeout is None:
            timeout = self.network_timeout if spec.network else self.command_timeout
        log.debug("event=modem_command line=%s", secret_free(line))
        try:
            event = await self._exchange(self._proto.send_command(line, spec), timeout)
            if isinstance(event, Prompt):
                if body is None:
                    event = await self._exchange(self._proto.cancel_body(), timeout)
                else:
                    event = await self._exchange(self._proto.send_body(body), timeout)
        except TimeoutError:
            self._proto.abandon()
            if resync:
                await self._resync()
            raise ModemTimeout(f"no answer within {timeout:g}s", command=spec.name) from None
        if not isinstance(event, Response):
            raise ModemError("unexpected second prompt", command=spec.name)
        if not event.ok:
            raise error_from_final(event.final, spec.name)
        return event

    async def _exchange(self, data: bytes, timeout: float) -> Response | Prompt:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        await self._transport.write(data)
        return await asyncio.wait_for(waiter, timeout)

    async def _resync(self) -> None:
        """After a timeout: cancel any prompt and wait until ``AT`` gets ``OK`` again."""
        for _ in range(3):
            if not self.connected or self._transport is None:
                return
            try:
                await self._transport.write(AtProtocol.cancel_body())
                await self.execute("AT", timeout=min(2.0, self.command_timeout), resync=False)
                await asyncio.sleep(0.1)  # let late answers of abandoned commands drain as strays
                return
            except ModemTimeout:
                continue
            except ModemError:
                return  # it answered (even ERROR): in sync again
        await self.hard_reset()

    async def hard_reset(self) -> None:
        """Last resort: ``AT+CFUN=1,1`` written blind, then drop the port and reconnect later."""
        log.warning("event=modem_reset url=%s", redact_url(self.url))
        if self._transport is not None:
            with contextlib.suppress(ModemError):
                await self._transport.write(b"\x1bAT+CFUN=1,1\r")
        await self._drop_transport()
