"""The configuration model: one frozen pydantic model for the whole YAML file.

Every model forbids unknown keys; every phone number is E.164 (``modem.e164.E164``); cross-field
rules (lines depend on components that exist, quorum ≤ nodes, ...) are checked by
``HotlineConfig``'s validator, so ``HotlineConfig.model_validate`` alone never yields a config the
controller cannot run. Reading a file is ``controller.config.loading``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from controller.config.actuators import ActuatorSettings, ReconcileSettings, default_actuators
from controller.config.names import Identifier, Text
from controller.config.security import ApiTls, ZooKeeperAuth, is_loopback
from controller.notifier.settings import NotifierSettings
from health.specs import ProbeSpec
from modem.e164 import E164


class Route(StrEnum):
    """Where the hotline SIM forwards calls."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    ONCALL = "oncall"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {value!r}") from exc
    return value


TimeZone = Annotated[str, AfterValidator(_check_timezone)]

_SERIAL_URL = re.compile(r"^(/dev/\S+|COM[0-9]+|(rfc2217|socket|loop|spy)://\S*|hwgrep://\S+)$")


class ModemSettings(_Model):
    url: str = Field(description="anything pyserial's serial_for_url takes")
    baudrate: int = Field(default=115200, gt=0)
    pin: SecretStr | None = Field(default=None, description="SIM PIN; never logged")
    command_timeout_s: float = Field(default=10.0, gt=0)
    network_timeout_s: float = Field(default=60.0, gt=0, description="+CCFC, +CMGS, +COPS")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _SERIAL_URL.match(value):
            raise ValueError(
                f"not a serial port URL: {value!r} (expected /dev/..., rfc2217://host:port "
                "or socket://host:port)"
            )
        return value

    @field_validator("pin")
    @classmethod
    def _pin(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9]{4,8}", value.get_secret_value()):
            raise ValueError("a SIM PIN is 4 to 8 digits")
        return value


class HotlineSettings(_Model):
    number: E164 = Field(description="the public hotline number: the SIM in the modem")
    modem: ModemSettings


class LineSettings(_Model):
    forward_to: E164 = Field(description="the SIP number the SIM forwards to for this line")
    depends_on: tuple[Identifier, ...] = Field(min_length=1)


class Lines(_Model):
    primary: LineSettings
    secondary: LineSettings


class ComponentKind(StrEnum):
    TRUNK = "trunk"
    CARRIER = "carrier"
    PBX_NODE = "pbx_node"
    MODEM = "modem"
    OTHER = "other"


class ComponentSettings(_Model):
    kind: ComponentKind
    description: Text = ""
    probes: tuple[ProbeSpec, ...] = Field(min_length=1)
    interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=2.0, gt=0)
    jitter: float = Field(default=0.1, ge=0, le=0.5, description="fraction of the interval")
    rise: int = Field(default=2, ge=1, le=100)
    fall: int = Field(default=3, ge=1, le=100)

    @model_validator(mode="after")
    def _timeout_fits(self) -> ComponentSettings:
        if self.timeout_s > self.interval_s:
            raise ValueError(
                f"timeout_s ({self.timeout_s}) must not exceed interval_s ({self.interval_s}): "
                "an overrunning probe would delay detection past fall × interval + timeout"
            )
        return self


class PbxCluster(_Model):
    name: Identifier = "pbx"
    nodes: tuple[Identifier, ...] = Field(min_length=1)
    quorum: int = Field(default=1, ge=1)


_EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"


class Technician(_Model):
    name: Identifier
    mobile: E164
    email: str | None = Field(default=None, max_length=254, pattern=_EMAIL)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Rotation(_Model):
    """A weekly rotation: ``order[0]`` takes over at ``anchor``'s handover, then the next."""

    order: tuple[Identifier, ...] = Field(min_length=1)
    anchor: date = Field(description="a date on which order[0] takes over at handover_time")
    handover_time: time = time(9, 0)


class OncallOverride(_Model):
    technician: Identifier
    start: datetime
    end: datetime
    reason: Text = ""

    @model_validator(mode="after")
    def _ordered(self) -> OncallOverride:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Oncall(_Model):
    timezone: TimeZone = "UTC"
    technicians: tuple[Technician, ...] = Field(min_length=1)
    rotation: Rotation | None = None
    overrides: tuple[OncallOverride, ...] = ()


_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def _check_span(value: str) -> str:
    m = _SPAN.match(value)
    if not m or (m.group(3) == "24" and m.group(4) != "00"):
        raise ValueError(f"not a time span HH:MM-HH:MM: {value!r}")
    if (int(m.group(1)), int(m.group(2))) >= (int(m.group(3)), int(m.group(4))):
        raise ValueError(f"span ends before it starts: {value!r}")
    return value


Span = Annotated[str, AfterValidator(_check_span)]


def _always_open() -> dict[Weekday, tuple[str, ...]]:
    return {d: ("00:00-24:00",) for d in _WEEKDAYS}


class Schedule(_Model):
    timezone: TimeZone = "UTC"
    business_hours: dict[Weekday, tuple[Span, ...]] = Field(
        default_factory=_always_open,
        description="per weekday, spans HH:MM-HH:MM; a day not listed is off-hours all day",
    )
    holidays: tuple[date, ...] = ()
    off_hours_route: Route = Route.PRIMARY


TTL_MIN_S = 60.0
"""The shortest override or pause: a switch takes seconds to tens of seconds (each +CCFC 0.5-5 s
on a real network, then the read-back), and ``POST /v1/failover`` waits for it to be verified;
an override that ends before it took effect is no override (issue 16: ``ttl_s: 1e-7``)."""


class Failover(_Model):
    failback_hold_s: float = Field(default=120.0, ge=0)
    flap_max_switches: int = Field(default=4, ge=1)
    flap_window_s: float = Field(default=900.0, gt=0)
    override_default_ttl_s: float = Field(default=1800.0, ge=TTL_MIN_S, allow_inf_nan=False)
    override_max_ttl_s: float = Field(default=7 * 86400.0, ge=TTL_MIN_S, allow_inf_nan=False)
    pause_default_ttl_s: float = Field(
        default=4 * 3600.0, ge=TTL_MIN_S, allow_inf_nan=False, description="a pause then ends"
    )
    pause_max_ttl_s: float = Field(default=86400.0, ge=TTL_MIN_S, allow_inf_nan=False)


class ZooKeeperSettings(_Model):
    hosts: tuple[str, ...] = Field(min_length=1)
    path: str = Field(default="/hotline/default", pattern=r"^(/[A-Za-z0-9_.-]+)+$")
    session_timeout_s: float = Field(default=6.0, gt=0)
    lease_fraction: float = Field(
        default=0.6,
        gt=0,
        lt=1,
        description="leadership lapses on our own timer after this "
        "fraction of the session timeout without a confirmed ZooKeeper round trip",
    )
    call_timeout_s: float = Field(default=1.0, gt=0, description="deadline of every ZK call")
    majority_view: bool = Field(
        default=False, description="fail over only on what a majority of nodes see down"
    )
    cluster_size: int = Field(default=3, ge=1, description="nodes expected to publish views")
    last_resort_after_s: float | None = Field(
        default=120.0,
        gt=0,
        description="without a ZK quorum, the node holding the modem on a "
        "local serial port forwards to the on-call mobile after a total outage this long; "
        "null disables the rule",
    )
    auth: ZooKeeperAuth | None = Field(
        default=None, description="digest credentials; the project's znodes get ACLs"
    )


class Coordination(_Model):
    backend: Literal["local", "zookeeper"] = "local"
    zookeeper: ZooKeeperSettings | None = None

    @model_validator(mode="after")
    def _zk(self) -> Coordination:
        if self.backend == "zookeeper" and self.zookeeper is None:
            raise ValueError("backend zookeeper needs a zookeeper: section (hosts, path)")
        return self


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    PBX = "pbx"


class ApiToken(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    token: SecretStr
    role: Role

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("a token must be at least 16 characters")
        return value


class Api(_Model):
    listen: str = Field(
        default="127.0.0.1:8080", pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$"
    )
    tokens: tuple[ApiToken, ...] = ()
    metrics_public: bool = Field(
        default=False, description="serve /metrics without a token (else a viewer token)"
    )
    tls: ApiTls | None = None
    allow_plain_http: bool = Field(
        default=False, description="serve plain HTTP on a non-loopback address (tokens in clear)"
    )

    @field_validator("listen")
    @classmethod
    def _port_in_range(cls, value: str) -> str:
        port = int(value.rpartition(":")[2])
        if port > 65535:  # 0 is an ephemeral port (tests)
            raise ValueError(f"port {port} is out of range (0-65535)")
        return value

    @model_validator(mode="after")
    def _plain_http_on_loopback_only(self) -> Api:
        host = self.listen.rpartition(":")[0].strip("[]")
        if self.tls is None and not self.allow_plain_http and not is_loopback(host):
            raise ValueError(
                f"listen {self.listen} is not a loopback address: bearer tokens would cross "
                "the network in clear text; set api.tls (cert, key) or, knowingly, "
                "api.allow_plain_http: true"
            )
        return self


class NodeSettings(_Model):
    name: Identifier = "node-1"
    state_dir: Path = Path("state")


class HotlineConfig(_Model):
    node: NodeSettings = NodeSettings()
    hotline: HotlineSettings
    lines: Lines
    components: dict[Identifier, ComponentSettings] = Field(min_length=1)
    pbx_cluster: PbxCluster
    oncall: Oncall
    schedule: Schedule = Schedule()
    failover: Failover = Failover()
    coordination: Coordination = Coordination()
    api: Api = Api()
    actuators: tuple[ActuatorSettings, ...] = Field(default_factory=default_actuators)
    reconcile: ReconcileSettings = ReconcileSettings()
    notifier: NotifierSettings = NotifierSettings()

    @model_validator(mode="after")
    def _cross_check(self) -> HotlineConfig:
        problems = cross_check(self)
        if problems:
            raise PydanticCustomError(
                "cross_check",
                "{count} cross-field problem(s)",
                {"count": len(problems), "problems": problems},
            )
        return self

    def route_number(self, route: Route, oncall_mobile: str) -> str:
        """The number the SIM forwards to for ``route``."""
        if route is Route.PRIMARY:
            return self.lines.primary.forward_to
        if route is Route.SECONDARY:
            return self.lines.secondary.forward_to
        return oncall_mobile


def cross_check(cfg: HotlineConfig) -> list[tuple[str, str]]:
    """Rules that span sections; each problem is (path in the file, message)."""
    return [*_check_topology(cfg), *_check_oncall(cfg), *_check_api(cfg), *_check_actuators(cfg)]


def _check_topology(cfg: HotlineConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    known = set(cfg.components) | {cfg.pbx_cluster.name}
    if cfg.pbx_cluster.name in cfg.components:
        problems.append(("pbx_cluster.name", "must not also be a component's name"))
    for line_name in ("primary", "secondary"):
        line: LineSettings = getattr(cfg.lines, line_name)
        for i, dep in enumerate(line.depends_on):
            if dep not in known:
                problems.append((f"lines.{line_name}.depends_on.{i}", f"unknown component {dep!r}"))
        if line.forward_to == cfg.hotline.number:
            problems.append(
                (f"lines.{line_name}.forward_to", "forwarding the hotline to itself loops")
            )
    for i, node in enumerate(cfg.pbx_cluster.nodes):
        if node not in cfg.components:
            problems.append((f"pbx_cluster.nodes.{i}", f"unknown component {node!r}"))
    if cfg.pbx_cluster.quorum > len(cfg.pbx_cluster.nodes):
        problems.append(
            (
                "pbx_cluster.quorum",
                f"quorum {cfg.pbx_cluster.quorum} exceeds the {len(cfg.pbx_cluster.nodes)} nodes",
            )
        )
    return problems


def _check_oncall(cfg: HotlineConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    names = [t.name for t in cfg.oncall.technicians]
    if len(set(names)) != len(names):
        problems.append(("oncall.technicians", "technician names must be unique"))
    for t in cfg.oncall.technicians:
        if t.mobile == cfg.hotline.number:
            problems.append(
                (f"oncall.technicians.{names.index(t.name)}.mobile", "is the hotline's own number")
            )
    if cfg.oncall.rotation is not None:
        for i, who in enumerate(cfg.oncall.rotation.order):
            if who not in names:
                problems.append((f"oncall.rotation.order.{i}", f"unknown technician {who!r}"))
    for i, ov in enumerate(cfg.oncall.overrides):
        if ov.technician not in names:
            problems.append(
                (f"oncall.overrides.{i}.technician", f"unknown technician {ov.technician!r}")
            )
    return problems


def _check_api(cfg: HotlineConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen_tokens: set[str] = set()
    token_names: set[str] = set()
    for i, tok in enumerate(cfg.api.tokens):
        if tok.name in token_names:
            problems.append((f"api.tokens.{i}.name", f"duplicate token name {tok.name!r}"))
        token_names.add(tok.name)
        secret = tok.token.get_secret_value()
        if secret in seen_tokens:
            problems.append((f"api.tokens.{i}.token", "the same token is listed twice"))
        seen_tokens.add(secret)
    if cfg.failover.override_default_ttl_s > cfg.failover.override_max_ttl_s:
        problems.append(
            ("failover.override_default_ttl_s", "must not exceed failover.override_max_ttl_s")
        )
    if cfg.failover.pause_default_ttl_s > cfg.failover.pause_max_ttl_s:
        problems.append(
            ("failover.pause_default_ttl_s", "must not exceed failover.pause_max_ttl_s")
        )
    return problems


def _check_actuators(cfg: HotlineConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    modems = [n for n, c in cfg.components.items() if c.kind is ComponentKind.MODEM]
    if len(modems) > 1:
        problems.append(("components", f"at most one modem component, found {modems}"))
    labels = [a.label for a in cfg.actuators]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            problems.append((f"actuators.{i}.name", f"duplicate actuator name {label!r}"))
    if sum(a.type == "modem" for a in cfg.actuators) > 1:
        problems.append(("actuators", "at most one modem actuator"))
    return problems
