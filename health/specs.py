"""Probe settings as they appear in the config file (``components.<name>.probes``), and the
component settings the monitor reads (``ComponentSpec``).

Each probe kind is one frozen pydantic model, told apart by ``type``. The probe implementations in
this package read these; the config loader only validates them. ``ComponentSpec`` is what health
needs of a component; the controller's config model satisfies it, so health imports nothing of the
controller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SipProbeSpec(_Spec):
    """SIP OPTIONS keep-alive to ``uri`` (``sip:host[:port][;transport=udp|tcp|tls]``)."""

    type: Literal["sip"]
    uri: str = Field(pattern=r"^sips?:")
    alive_codes: tuple[int, ...] = (200,)
    """Reply codes that count as alive (like Kamailio's ds_ping_reply_codes)."""
    from_uri: str = "sip:hotline-probe@invalid"
    tls_verify: bool = True
    tls_ca_file: str | None = None
    """A private CA (PEM) to verify the peer with, instead of the system's trust store."""
    t1_ms: int = Field(default=500, ge=1, le=10000)
    """RFC 3261 timer T1 (RTT estimate): UDP retransmits at T1, 2·T1, 4·T1… within the timeout."""

    @model_validator(mode="after")
    def _uri_parses(self) -> SipProbeSpec:
        from health.sip.message import parse_target

        parse_target(self.uri)
        return self


class SnmpCheck(_Spec):
    oid: str = Field(pattern=r"^\.?[0-9]+(\.[0-9]+)+$")
    expect: Literal["exists", "equals", "at_least", "at_most"] = "exists"
    value: str | int | None = None

    @model_validator(mode="after")
    def _value_needed(self) -> SnmpCheck:
        if self.expect != "exists" and self.value is None:
            raise ValueError(f"expect: {self.expect} needs a value")
        if self.expect in ("at_least", "at_most") and not isinstance(self.value, int):
            raise ValueError(f"expect: {self.expect} needs an integer value")
        return self


class SnmpV3User(_Spec):
    user: str
    auth_protocol: Literal["SHA", "SHA256", "SHA512", "MD5"] = "SHA"
    auth_key: SecretStr
    priv_protocol: Literal["AES", "AES192", "AES256", "DES"] | None = "AES"
    priv_key: SecretStr | None = None


class SnmpProbeSpec(_Spec):
    type: Literal["snmp"]
    host: str
    port: int = Field(default=161, ge=1, le=65535)
    version: Literal["2c", "3"] = "2c"
    community: SecretStr = SecretStr("public")
    v3: SnmpV3User | None = None
    checks: tuple[SnmpCheck, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _v3_needs_user(self) -> SnmpProbeSpec:
        if self.version == "3" and self.v3 is None:
            raise ValueError("version 3 needs a v3 user (v3.user, v3.auth_key)")
        return self


class HttpProbeSpec(_Spec):
    type: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    expect_status: tuple[int, ...] = (200,)
    body_contains: str | None = None


class TcpProbeSpec(_Spec):
    type: Literal["tcp"]
    host: str
    port: int = Field(ge=1, le=65535)


class CommandProbeSpec(_Spec):
    type: Literal["command"]
    argv: tuple[str, ...] = Field(min_length=1)


class ModemProbeSpec(_Spec):
    """The hotline modem's own health: SIM ready, registered, signal above a threshold."""

    type: Literal["modem"]
    min_signal_dbm: int = -105
    allow_roaming: bool = True


ProbeSpec = Annotated[
    SipProbeSpec | SnmpProbeSpec | HttpProbeSpec | TcpProbeSpec | CommandProbeSpec | ModemProbeSpec,
    Field(discriminator="type"),
]


class ComponentSpec(Protocol):
    """One component's probing settings; its name is its key in the monitor's mapping.

    A sample runs all ``probes`` within ``timeout_s``; samples are ``interval_s`` apart, shortened
    by up to ``jitter`` (a fraction); ``rise`` good or ``fall`` bad samples in a row change the
    status.
    """

    @property
    def probes(self) -> Sequence[ProbeSpec]: ...
    @property
    def interval_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def jitter(self) -> float: ...
    @property
    def rise(self) -> int: ...
    @property
    def fall(self) -> int: ...
