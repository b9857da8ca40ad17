"""Probe implementations, one module per kind, built from their config specs.

Every probe has ``async run(timeout) -> ProbeResult`` and never raises for a failure of the world.
Probes share expensive things through one ``ProbeContext`` (a UDP socket per address family for
all SIP targets, one SNMP engine, one HTTP client), which is why adding targets adds no sockets.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Protocol

from health.sample import ProbeResult
from health.sip.udp import UdpEndpoint
from health.specs import (
    CommandProbeSpec,
    HttpProbeSpec,
    ModemProbeSpec,
    SipProbeSpec,
    SnmpProbeSpec,
    TcpProbeSpec,
)

if TYPE_CHECKING:
    import httpx
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    from health.probes.modem import ModemStatusSource


class Probe(Protocol):
    async def run(self, timeout: float) -> ProbeResult: ...


class ProbeContext:
    """Shared, lazily opened resources; ``close`` releases all of them."""

    def __init__(self, modem: ModemStatusSource | None = None) -> None:
        self.modem = modem
        self._udp: dict[int, UdpEndpoint] = {}
        self._snmp_engine: SnmpEngine | None = None
        self._http: httpx.AsyncClient | None = None

    def udp(self, family: int = socket.AF_INET) -> UdpEndpoint:
        if family not in self._udp:
            self._udp[family] = UdpEndpoint.open(family)
        return self._udp[family]

    def snmp_engine(self) -> SnmpEngine:
        if self._snmp_engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._snmp_engine = SnmpEngine()
        return self._snmp_engine

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def close(self) -> None:
        for endpoint in self._udp.values():
            endpoint.close()
        self._udp.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._snmp_engine is not None:
            self._snmp_engine.close_dispatcher()
            self._snmp_engine = None


def build_probe(spec: object, ctx: ProbeContext) -> Probe:
    """The probe for one config spec."""
    if isinstance(spec, SipProbeSpec):
        from health.probes.sip import SipProbe

        return SipProbe(spec, ctx)
    if isinstance(spec, SnmpProbeSpec):
        from health.probes.snmp import SnmpProbe

        return SnmpProbe(spec, ctx)
    if isinstance(spec, HttpProbeSpec):
        from health.probes.http import HttpProbe

        return HttpProbe(spec, ctx)
    if isinstance(spec, TcpProbeSpec):
        from health.probes.tcp import TcpProbe

        return TcpProbe(spec)
    if isinstance(spec, CommandProbeSpec):
        from health.probes.command import CommandProbe

        return CommandProbe(spec)
    if isinstance(spec, ModemProbeSpec):
        from health.probes.modem import ModemProbe

        return ModemProbe(spec, ctx.modem)
    raise TypeError(f"no probe for {type(spec).__name__}")
