"""A TCP relay per node in front of ser2net, so a test knows which node opened the modem when.

Every daemon reaches ser2net through its own relay (``socket://127.0.0.1:<relay port>``); the
relay copies bytes both ways unchanged and records each connection's opening and end with the
time. ser2net itself sees ordinary TCP clients and applies ``kickolduser`` to them: a kicked
client's upstream closes, and the relay closes the node's side too, as ser2net would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Relay:
    target: int
    port: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)  # (time.time(), open/close)

    def opens(self, after: float = 0.0) -> list[float]:
        return [t for t, what in list(self.events) if what == "open" and t > after]


class Relays:
    """One relay per name, served by one asyncio loop on a background thread."""

    def __init__(self, target: int, names: tuple[str, ...]) -> None:
        self.relays = {n: Relay(target) for n in names}
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        for relay in self.relays.values():
            server = asyncio.run_coroutine_threadsafe(self._serve(relay), self._loop).result(10)
            self._servers.append(server)

    async def _serve(self, relay: Relay) -> asyncio.Server:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            relay.events.append((time.time(), "open"))
            try:
                up_r, up_w = await asyncio.open_connection("127.0.0.1", relay.target)
            except OSError:
                writer.close()
                relay.events.append((time.time(), "close"))
                return
            pipes = [
                asyncio.ensure_future(_pipe(reader, up_w)),
                asyncio.ensure_future(_pipe(up_r, writer)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                pass  # the relay closes
            finally:
                for pipe in pipes:
                    pipe.cancel()
            for w in (writer, up_w):
                w.close()
            relay.events.append((time.time(), "close"))

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        relay.port = server.sockets[0].getsockname()[1]
        return server

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for server in self._servers:
                await server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await src.read(4096):
            dst.write(data)
            await dst.drain()
