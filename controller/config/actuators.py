"""Config models for the actuators and the reconcile loop (``actuators:`` and ``reconcile:``).

Kept here rather than in ``controller.config`` itself so that module stays one screen of shared
models; ``HotlineConfig`` imports these. Route names are plain literals so this module does not
import the config module back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

RouteName = Literal["primary", "secondary", "oncall"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommonSettings(_Model):
    name: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$", description="default: the type")
    dry_run: bool = Field(default=False, description="log what would be done, touch nothing")
    retries: int = Field(default=2, ge=0, le=10, description="extra attempts after a failure")
    backoff_s: float = Field(default=1.0, ge=0, le=300, description="first retry delay, doubles")
    timeout_s: float = Field(default=10.0, gt=0, le=600)

    @property
    def label(self) -> str:
        return self.name or str(getattr(self, "type", "actuator"))


class ModemActuatorSettings(CommonSettings):
    """Unconditional call forwarding in the GSM modem (AT+CCFC), verified by a +CCFC query."""

    type: Literal["modem"]
    timeout_s: float = Field(default=90.0, gt=0, le=600)


class KamailioActuatorSettings(CommonSettings):
    """Kamailio dispatcher gateway states over JSON-RPC (jsonrpcs over xhttp).

    For a route listed in ``gateways`` its URIs are made active and every other URI named here is
    made inactive, so the proxy prefers that route's gateways. A route not listed leaves the
    dispatcher as it is.
    """

    type: Literal["kamailio"]
    url: str = Field(pattern=r"^https?://", description="e.g. http://127.0.0.1:5071/RPC")
    set_id: int = Field(ge=0)
    gateways: dict[RouteName, tuple[str, ...]] = Field(min_length=1)
    timeout_s: float = Field(default=5.0, gt=0, le=600)


class HttpActuatorSettings(CommonSettings):
    """A webhook to a PBX or provider API. Header values may hold tokens: never logged.

    ``body`` is a template: ``$route``, ``$number``, ``$reason``, ``$epoch`` are replaced by
    JSON-string-escaped values. Without a body a JSON object with those keys is sent.
    """

    type: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    body: str | None = None
    expect_status: tuple[int, ...] = (200, 201, 202, 204)


class CommandActuatorSettings(CommonSettings):
    """An executable run (no shell) with HOTLINE_ROUTE, HOTLINE_NUMBER, HOTLINE_REASON,
    HOTLINE_EPOCH in its environment; exit status 0 means applied."""

    type: Literal["command"]
    argv: tuple[str, ...] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)


ActuatorSettings = Annotated[
    ModemActuatorSettings
    | KamailioActuatorSettings
    | HttpActuatorSettings
    | CommandActuatorSettings,
    Field(discriminator="type"),
]


class ReconcileSettings(_Model):
    interval_s: float = Field(default=1.0, gt=0, le=60, description="one loop tick")
    drift_check_s: float = Field(default=30.0, gt=0, description="re-read the world this often")
    retry_failed_s: float = Field(default=15.0, gt=0, description="retry a failed route after")
    dry_run: bool = Field(default=False, description="decide and log only, for every actuator")
    action_wait_s: float = Field(default=120.0, gt=0, description="API waits this long")
    shutdown_grace_s: float = Field(default=120.0, gt=0, description="finish a switch on SIGTERM")


def default_actuators() -> tuple[ModemActuatorSettings, ...]:
    return (ModemActuatorSettings(type="modem"),)
