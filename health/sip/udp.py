"""One shared, non-blocking UDP socket for every SIP target of an address family.

Cost stays flat as targets grow: one file descriptor, one reader callback, and a dict lookup by Via
branch per datagram. Requests are retransmitted on RFC 3261 timer E (T1, 2·T1, … capped at T2), so
one lost datagram is not a failed sample. Linux's ``IP_RECVERR`` queues ICMP errors with the
original datagram and its destination; reading that queue tells *which* transaction hit a closed
port, so it fails at once with ``ICMP port unreachable`` instead of waiting for the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from health.sip.message import (
    Exchange,
    OptionsRequest,
    SipParseError,
    SipResponse,
    branch_of_request,
    parse_response,
)

log = logging.getLogger(__name__)

_RECVERR: dict[int, tuple[int, int]] = {
    socket.AF_INET: (socket.IPPROTO_IP, 11),  # IP_RECVERR (Linux)
    socket.AF_INET6: (socket.IPPROTO_IPV6, 25),  # IPV6_RECVERR (Linux)
}
_ICMP_REASONS = {
    errno.ECONNREFUSED: "ICMP port unreachable",
    errno.EHOSTUNREACH: "ICMP host unreachable",
    errno.ENETUNREACH: "ICMP network unreachable",
}
T2 = 4.0


@dataclass(slots=True)
class _Transaction:
    request: OptionsRequest
    addr: tuple[str, int]
    future: asyncio.Future[SipResponse | str]
    notes: list[str] = field(default_factory=list)
    sends: int = 0


class UdpEndpoint:
    """A UDP socket that runs many concurrent OPTIONS transactions, matched by branch."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._loop = loop
        self._pending: dict[str, _Transaction] = {}
        self._closed = False
        self.local_port: int = sock.getsockname()[1]
        loop.add_reader(sock.fileno(), self._readable)

    @classmethod
    def open(cls, family: int = socket.AF_INET, bind_host: str | None = None) -> UdpEndpoint:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            level, opt = _RECVERR[family]
            with contextlib.suppress(OSError):  # not Linux: no fast ICMP failure, only timeouts
                sock.setsockopt(level, opt, 1)
            default = "0.0.0.0" if family == socket.AF_INET else "::"
            sock.bind((bind_host or default, 0))
            sock.setblocking(False)
            return cls(sock, asyncio.get_running_loop())
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        for txn in self._pending.values():
            if not txn.future.done():
                txn.future.set_result("probe stopped")
        self._pending.clear()

    async def options(
        self,
        addr: tuple[str, int],
        build: Callable[[int], OptionsRequest],
        timeout: float,
        t1: float,
    ) -> Exchange:
        """Send one OPTIONS to ``addr`` and wait for its final response, retransmitting on T1."""
        request = build(self.local_port)
        txn = _Transaction(request, addr, self._loop.create_future())
        self._pending[request.branch] = txn
        started = time.monotonic()
        handle: asyncio.TimerHandle | None = None

        def retransmit(interval: float) -> None:
            nonlocal handle
            if not txn.future.done():
                self._send(txn)
                handle = self._loop.call_later(interval, retransmit, min(interval * 2, T2))

        try:
            self._send(txn)
            handle = self._loop.call_later(t1, retransmit, min(t1 * 2, T2))
            try:
                async with asyncio.timeout(timeout):
                    outcome = await txn.future
            except TimeoutError:
                notes = f" ({'; '.join(dict.fromkeys(txn.notes))})" if txn.notes else ""
                return Exchange(None, f"timeout after {txn.sends} sends{notes}", None)
        finally:
            if handle is not None:
                handle.cancel()
            self._pending.pop(request.branch, None)
        latency = (time.monotonic() - started) * 1000
        if isinstance(outcome, str):
            return Exchange(None, outcome, latency)
        return Exchange(outcome, "", latency)

    def _send(self, txn: _Transaction) -> None:
        txn.sends += 1
        for _ in range(3):
            try:
                self._sock.sendto(txn.request.data, txn.addr)
                return
            except BlockingIOError:
                txn.notes.append("send buffer full")  # a lost datagram: timer E resends
                return
            except OSError as exc:
                if exc.errno in _ICMP_REASONS:
                    # With IP_RECVERR the kernel reports an ICMP error pending for *another*
                    # destination on the next call, sendto included: settle it and retry.
                    self._drain_errors()
                    continue
                self._fail(txn, f"send: {exc.strerror}")
                return
        self._fail(txn, "send: repeated ICMP errors")

    def _fail(self, txn: _Transaction, reason: str) -> None:
        if not txn.future.done():
            txn.future.set_result(reason)

    def _readable(self) -> None:
        for _ in range(256):  # bounded: yield to the loop between bursts
            try:
                data, addr = self._sock.recvfrom(65535)
            except BlockingIOError:
                break
            except OSError:
                continue  # a pending ICMP error (reported once); its details are queued
            self._received(data, (addr[0], addr[1]))
        # Always look at the error queue: a readable event may be only EPOLLERR, and an error
        # already reported by sendto leaves its entry queued (level-triggered readiness).
        self._drain_errors()

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            response = parse_response(data)
        except SipParseError as exc:
            self._note_from(addr, f"malformed reply: {exc}")
            return
        txn = self._pending.get(response.branch or "")
        if txn is None:
            self._note_from(addr, "stray reply ignored")
            return
        if not response.answers(txn.request):
            txn.notes.append("reply with foreign Call-ID/CSeq ignored")
            return
        if response.code >= 200 and not txn.future.done():
            txn.future.set_result(response)

    def _to(self, addr: object) -> list[_Transaction]:
        if not isinstance(addr, tuple) or len(addr) < 2:
            return []
        return [
            t
            for t in self._pending.values()
            if t.addr[1] == addr[1] and _same_host(t.addr[0], str(addr[0]))
        ]

    def _note_from(self, addr: tuple[str, int], note: str) -> None:
        for txn in self._to(addr):
            txn.notes.append(note)

    def _drain_errors(self) -> None:
        for _ in range(256):
            try:
                data, anc, _flags, addr = self._sock.recvmsg(2048, 512, socket.MSG_ERRQUEUE)
            except OSError:
                return
            code = 0
            for _level, _type, cdata in anc:
                if len(cdata) >= 4:
                    code = struct.unpack_from("=I", cdata)[0]
            reason = _ICMP_REASONS.get(code, f"ICMP error: {os.strerror(code)}")
            txn = self._pending.get(branch_of_request(data) or "")
            # The payload may be truncated in the ICMP quote: then every transaction to that
            # address failed the same way (the port is closed for all of them).
            victims = [txn] if txn is not None else self._to(addr)
            for victim in victims:
                if not victim.future.done():
                    victim.future.set_result(reason)


def _same_host(a: str, b: str) -> bool:
    return a == b or a.removeprefix("::ffff:") == b.removeprefix("::ffff:")
