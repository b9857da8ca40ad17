"""A thin asyncio transport over pyserial's ``serial_for_url``: it only moves bytes.

One code path for every kind of port (``/dev/ttyUSB2``, ``rfc2217://host:port``,
``socket://host:port``): pyserial is blocking, so a reader thread reads with a short timeout and
hands chunks to the event loop with ``call_soon_threadsafe``; writes run in the default executor.
When the port disappears (USB re-enumeration, ser2net restart, cable pulled) the reader thread
reports it and :meth:`read` raises :class:`ModemUnavailable`; the driver decides about
reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import warnings

import serial

from modem.errors import ModemUnavailable

log = logging.getLogger("modem.transport")


def redact_url(url: str) -> str:
    """A URL fit for logs: no user:password part."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class SerialTransport:
    def __init__(self, port: serial.Serial, url: str) -> None:
        self._port = port
        self.url = url
        self._queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()  # None: EOF
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name="modem-reader", daemon=True)
        self._thread.start()

    @classmethod
    async def open(cls, url: str, baudrate: int = 115200, timeout: float = 10.0) -> SerialTransport:
        lock = threading.Lock()
        abandoned: list[bool] = []  # set once the caller stops waiting
        handed: list[serial.Serial] = []  # ports the opener returned

        def opener() -> serial.Serial | None:
            with warnings.catch_warnings():
                # pyserial 3.5 rfc2217 calls Thread.setDaemon()/setName(), deprecated since 3.10
                warnings.filterwarnings("ignore", "set(Daemon|Name)", DeprecationWarning)
                # rfc2217:// refuses write_timeout (NotImplementedError); the executor bounds it
                write_timeout = None if url.startswith("rfc2217:") else 5.0
                port = serial.serial_for_url(
                    url, baudrate=baudrate, timeout=0.05, write_timeout=write_timeout
                )
            with lock:
                if not abandoned:
                    handed.append(port)
                    return port
            port.close()  # the caller gave up (timeout, cancel) while we were opening
            return None

        try:
            port = await asyncio.wait_for(asyncio.to_thread(opener), timeout)
        except (serial.SerialException, OSError, ValueError, NotImplementedError) as exc:
            raise ModemUnavailable(f"cannot open {redact_url(url)}: {exc}") from exc
        except BaseException as exc:
            with lock:
                abandoned.append(True)
                late = list(handed)
            for p in late:  # opened, but the answer never reached us
                threading.Thread(target=p.close, name="modem-late-close", daemon=True).start()
            if isinstance(exc, TimeoutError):
                raise ModemUnavailable(f"cannot open {redact_url(url)}: timed out") from exc
            raise
        assert port is not None  # None only reaches a caller that stopped waiting
        return cls(port, url)

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._port.read(max(1, min(4096, self._port.in_waiting or 1)))
            except Exception as exc:  # pyserial raises SerialException, OSError, TypeError...
                if not self._stop.is_set():
                    self._post(exc)
                return
            if data:
                self._post(bytes(data))
        self._post(None)

    def _post(self, item: bytes | Exception | None) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def read(self) -> bytes:
        item = await self._queue.get()
        if isinstance(item, bytes):
            return item
        if item is None:
            raise ModemUnavailable("transport closed")
        raise ModemUnavailable(f"port {redact_url(self.url)} lost: {item}")

    async def write(self, data: bytes) -> None:
        def do_write() -> None:
            self._port.write(data)
            self._port.flush()

        try:
            await asyncio.to_thread(do_write)
        except Exception as exc:
            raise ModemUnavailable(f"write to {redact_url(self.url)} failed: {exc}") from exc

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._thread.join(timeout=2.0)
        # pyserial's socket:// close() skips socket.close() when shutdown() fails, which it does
        # on a connection the peer already reset; close the socket ourselves so it cannot leak.
        sock = getattr(self._port, "_socket", None)
        with contextlib.suppress(Exception):
            self._port.close()
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()
