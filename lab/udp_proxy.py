"""A UDP relay in front of a SIP peer that can impair the path: silence, loss, delay.

The controller's probes and the lab's calls reach a trunk through its relay, so "trunk down",
"a flapping trunk with 30 % loss" and "a slow network" are one knob each, applied in both
directions, for every client at once. Each client address gets its own upstream socket, so the
peer's replies (Kamailio answers the source with ``force_rport``) find their way back. Loss is
drawn from a seeded generator: a run is reproducible up to the timing of the packets.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Impairment:
    down: bool = False  # drop everything (a dead SBC, a cut link)
    loss: float = 0.0  # probability of dropping each datagram, each way
    delay_s: float = 0.0  # added one-way delay


@dataclass
class _Upstream(asyncio.DatagramProtocol):
    proxy: UdpProxy
    client: tuple[str, int]
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.relay(data, lambda: self.proxy.reply(data, self.client))


@dataclass
class UdpProxy(asyncio.DatagramProtocol):
    """Listens on 127.0.0.1:``port`` (0: a free one) and relays to 127.0.0.1:``target``."""

    target: int
    seed: int = 0
    impairment: Impairment = field(default_factory=Impairment)
    port: int = 0
    relayed: int = 0
    dropped: int = 0
    _transport: asyncio.DatagramTransport | None = None
    _ups: dict[tuple[str, int], _Upstream] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay(data, lambda: self._forward(data, addr))

    def relay(self, data: bytes, send: Callable[[], None]) -> None:
        imp = self.impairment
        if imp.down or (imp.loss and self._rng.random() < imp.loss):
            self.dropped += 1
            return
        self.relayed += 1
        assert self._loop is not None
        if imp.delay_s > 0:
            self._loop.call_later(imp.delay_s, send)
        else:
            send()

    def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        up = self._ups.get(client)
        if up is None:
            assert self._loop is not None
            up = _Upstream(self, client)
            self._ups[client] = up
            self._loop.create_task(self._open(up, data))
            return
        if up.transport is not None:
            up.transport.sendto(data, ("127.0.0.1", self.target))

    async def _open(self, up: _Upstream, first: bytes) -> None:
        assert self._loop is not None
        await self._loop.create_datagram_endpoint(lambda: up, local_addr=("127.0.0.1", 0))
        if up.transport is not None:
            up.transport.sendto(first, ("127.0.0.1", self.target))
        if len(self._ups) > 2000:  # bounded: forget the oldest clients (each call is a new one)
            for key in list(self._ups)[:1000]:
                old = self._ups.pop(key)
                if old.transport is not None:
                    old.transport.close()

    def reply(self, data: bytes, client: tuple[str, int]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, client)

    async def start(self) -> int:
        self._loop = asyncio.get_running_loop()
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", self.port)
        )
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    def close(self) -> None:
        for up in self._ups.values():
            if up.transport is not None:
                up.transport.close()
        if self._transport is not None:
            self._transport.close()


class ProxyThread:
    """Runs UDP proxies on one asyncio loop in a background thread (the lab is synchronous)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.proxies: list[UdpProxy] = []

    def add(self, target: int, seed: int) -> UdpProxy:
        proxy = UdpProxy(target, seed)
        asyncio.run_coroutine_threadsafe(proxy.start(), self.loop).result(5)
        self.proxies.append(proxy)
        return proxy

    def close(self) -> None:
        async def stop() -> None:
            for proxy in self.proxies:
                proxy.close()
            await asyncio.sleep(0.05)  # let the transports finish closing

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.loop.close()
