"""SIP OPTIONS probe over UDP (shared socket, T1 retransmits), TCP or TLS.

A reply counts as alive only if its code is in ``alive_codes`` (like Kamailio's
``ds_ping_reply_codes``: a proxy that is up may answer 404/405/501 to OPTIONS).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import TYPE_CHECKING

from health.sample import ProbeResult
from health.sip.message import Exchange, OptionsRequest, build_options, parse_target
from health.sip.stream import options_stream, tls_context
from health.specs import SipProbeSpec

if TYPE_CHECKING:
    from health.probes import ProbeContext

_RESOLVE_TTL_S = 30.0


class SipProbe:
    def __init__(self, spec: SipProbeSpec, ctx: ProbeContext) -> None:
        self.spec = spec
        self.target = parse_target(spec.uri)
        self._ctx = ctx
        self._alive = frozenset(spec.alive_codes)
        self._tls = (
            tls_context(spec.tls_verify, spec.tls_ca_file)
            if self.target.transport == "tls"
            else None
        )
        self._resolved: tuple[float, int, tuple[str, int], str] | None = None

    async def run(self, timeout: float) -> ProbeResult:
        exchange = await self.exchange(timeout)
        if exchange.response is None:
            return ProbeResult(False, exchange.failure, exchange.latency_ms)
        response = exchange.response
        return ProbeResult(response.code in self._alive, response.status_text, exchange.latency_ms)

    async def exchange(self, timeout: float) -> Exchange:
        target = self.target
        if target.transport != "udp":

            def build_stream(host: str, port: int) -> OptionsRequest:
                return build_options(target, host, port, from_uri=self.spec.from_uri)

            return await options_stream(target.host, target.port, build_stream, timeout, self._tls)
        try:
            family, addr, local_host = await self._resolve()
        except OSError as exc:
            return Exchange(None, f"DNS: {exc.strerror or exc}", None)

        def build_udp(local_port: int) -> OptionsRequest:
            return build_options(target, local_host, local_port, from_uri=self.spec.from_uri)

        endpoint = self._ctx.udp(family)
        return await endpoint.options(addr, build_udp, timeout, self.spec.t1_ms / 1000)

    async def _resolve(self) -> tuple[int, tuple[str, int], str]:
        """Target address and the local address a reply should come back to (for Via)."""
        now = time.monotonic()
        if self._resolved is not None and now - self._resolved[0] < _RESOLVE_TTL_S:
            return self._resolved[1], self._resolved[2], self._resolved[3]
        host, port = self.target.host, self.target.port
        try:
            ip = ipaddress.ip_address(host)
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            addr = (str(ip), port)
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            family, _, _, _, sockaddr = infos[0]
            addr = (str(sockaddr[0]), int(sockaddr[1]))
        local_host = _local_address_towards(family, addr)
        self._resolved = (now, family, addr, local_host)
        return family, addr, local_host


def _local_address_towards(family: int, addr: tuple[str, int]) -> str:
    """The source address the kernel would use for ``addr`` (a route lookup; sends nothing)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        return str(s.getsockname()[0])
