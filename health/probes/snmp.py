"""SNMP GET probe (pysnmp 7 asyncio), v2c or v3 USM, with one expectation per OID.

All OIDs of a probe go in one GET; the probe is alive only if every check holds. Reasons name the
first failure in SNMP's own words (``SNMP noSuchObject``, ``SNMP wrongDigest``, ``timeout``).
Community strings and USM keys are never part of a reason.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Protocol, SupportsIndex, SupportsInt, runtime_checkable

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from health.sample import ProbeResult
from health.specs import SnmpCheck, SnmpProbeSpec

if TYPE_CHECKING:
    from health.probes import ProbeContext

_AUTH = {
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA256": usmHMAC192SHA256AuthProtocol,
    "SHA512": usmHMAC384SHA512AuthProtocol,
}
_PRIV = {
    "DES": usmDESPrivProtocol,
    "AES": usmAesCfb128Protocol,
    "AES192": usmAesCfb192Protocol,
    "AES256": usmAesCfb256Protocol,
}
_ABSENT = {
    NoSuchObject: "noSuchObject",
    NoSuchInstance: "noSuchInstance",
    EndOfMibView: "endOfMibView",
}


def auth_data(spec: SnmpProbeSpec) -> CommunityData | UsmUserData:
    if spec.version == "2c":
        return CommunityData(spec.community.get_secret_value(), mpModel=1)
    v3 = spec.v3
    assert v3 is not None  # the spec's validator guarantees it
    priv_key: str | None = None  # authNoPriv unless both are given
    priv_protocol: tuple[int, ...] | None = None
    if v3.priv_protocol is not None and v3.priv_key is not None:
        priv_key, priv_protocol = v3.priv_key.get_secret_value(), _PRIV[v3.priv_protocol]
    return UsmUserData(
        v3.user,
        authKey=v3.auth_key.get_secret_value(),
        authProtocol=_AUTH[v3.auth_protocol],
        privKey=priv_key,
        privProtocol=priv_protocol,
    )


class SnmpProbe:
    def __init__(self, spec: SnmpProbeSpec, ctx: ProbeContext) -> None:
        self.spec = spec
        self._ctx = ctx
        self._auth = auth_data(spec)

    async def run(self, timeout: float) -> ProbeResult:
        started = time.monotonic()
        engine = self._ctx.snmp_engine()
        try:
            async with asyncio.timeout(timeout):
                # Two tries inside the component's timeout: one lost datagram is not a failure.
                target = await UdpTransportTarget.create(
                    (self.spec.host, self.spec.port), timeout=timeout / 2, retries=1
                )
                oids = [ObjectType(ObjectIdentity(c.oid.lstrip("."))) for c in self.spec.checks]
                error, status, index, binds = await get_cmd(
                    engine, self._auth, target, ContextData(), *oids
                )
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except OSError as exc:
            return ProbeResult(False, f"SNMP: {exc.strerror or exc}", _ms(started))
        latency = _ms(started)
        if error:
            text = str(error)
            reason = "timeout" if "timeout" in text.lower() else f"SNMP {text}"
            return ProbeResult(False, reason, latency)
        if status:
            return ProbeResult(False, f"SNMP {_show(status)} at #{int(index)}", latency)
        for check, (_, value) in zip(self.spec.checks, binds, strict=False):
            problem = check_value(check, value)
            if problem:
                return ProbeResult(False, problem, latency)
        shown = ", ".join(_show(v) for _, v in binds)
        return ProbeResult(True, f"SNMP ok ({shown})"[:100], latency)


def check_value(check: SnmpCheck, value: object) -> str | None:
    """None when ``value`` meets ``check``, else the reason it does not."""
    for kind, name in _ABSENT.items():
        if isinstance(value, kind):
            return f"SNMP {name} {check.oid}"
    if check.expect == "exists":
        return None
    shown = _show(value)
    if check.expect == "equals":
        if isinstance(check.value, int):
            ok = _as_int(value) == check.value
        else:
            ok = shown == str(check.value)
        return None if ok else f"{check.oid} = {shown!r}, expected {check.value!r}"
    number = _as_int(value)
    if number is None:
        return f"{check.oid} = {shown!r} is not a number"
    assert isinstance(check.value, int)
    if check.expect == "at_least" and number < check.value:
        return f"{check.oid} = {number} < {check.value}"
    if check.expect == "at_most" and number > check.value:
        return f"{check.oid} = {number} > {check.value}"
    return None


@runtime_checkable
class _Pretty(Protocol):
    def prettyPrint(self) -> str: ...


def _as_int(value: object) -> int | None:
    try:
        if isinstance(value, str | bytes | bytearray | SupportsInt | SupportsIndex):
            return int(value)
        raise TypeError(type(value).__name__)
    except (TypeError, ValueError):
        try:
            return int(str(value))
        except ValueError:
            return None


def _show(value: object) -> str:
    return str(value.prettyPrint()) if isinstance(value, _Pretty) else str(value)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
