"""Request bodies of the API's write endpoints.

A ``reason`` travels far: into the audit log, the event timeline, SMS and e-mail alerts. So it is
required, at most 500 characters, and holds no control, line-separator or bidi-override characters
(which could forge log lines or reorder an SMS). Unknown keys are errors (``extra="forbid"``) so a
typo such as ``"ttl": 60`` is refused instead of silently using the default TTL.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat

from controller.config import Route
from controller.config.model import TTL_MIN_S

REASON_MAX = 500

# C0/C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates, LRM/RLM.
_FORBIDDEN_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
REASON_PATTERN = rf"^[^{_FORBIDDEN_CLASS}]*[^\s{_FORBIDDEN_CLASS}][^{_FORBIDDEN_CLASS}]*$"
_FORBIDDEN = frozenset(
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)


def _check_reason(value: str) -> str:
    for ch in value:
        if ch in _FORBIDDEN or unicodedata.category(ch) == "Cs":
            raise ValueError(f"must not contain control or bidi characters (found U+{ord(ch):04X})")
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty or only whitespace")
    return stripped


Reason = Annotated[
    str,
    Field(
        max_length=REASON_MAX,
        description="why (audited; shown in the event log and alerts)",
        json_schema_extra={"pattern": REASON_PATTERN, "minLength": 1},
        examples=["trunk A maintenance window"],
    ),
    AfterValidator(_check_reason),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReasonRequest(_Body):
    """Body of failback, pause and resume."""

    reason: Reason


class PauseRequest(ReasonRequest):
    """Body of pause: ``ttl_s`` (default and maximum in ``failover.pause_*_ttl_s``)."""

    ttl_s: StrictFloat | None = Field(
        default=None,
        ge=TTL_MIN_S,
        allow_inf_nan=False,
        description=f"how long the pause holds, in seconds (at least {TTL_MIN_S:g})",
    )


class FailoverBody(Protocol):
    """What the failover handler reads of the body (the model itself is built per deployment)."""

    @property
    def to(self) -> Route: ...
    @property
    def reason(self) -> str: ...
    @property
    def ttl_s(self) -> float | None: ...
    @property
    def force(self) -> bool: ...


def failover_request_model(default_ttl_s: float, max_ttl_s: float) -> type[BaseModel]:
    """The failover body, with the deployment's TTL bounds in its schema (so clients see them)."""

    class FailoverRequest(_Body):
        to: Route = Field(description="the route calls must take")
        reason: Reason
        # Strict: lax parsing would read ``true`` as 1 s and ``"60"`` as 60 s (found by
        # schemathesis); a JSON number or null only.
        # At least TTL_MIN_S: 1e-7 or 5e-324 made the override end before the loop saw it while
        # the request waited 120 s for a verification that could not come (issue 16).
        ttl_s: StrictFloat | None = Field(
            default=None,
            ge=TTL_MIN_S,
            le=max_ttl_s,
            allow_inf_nan=False,
            description=(
                f"how long the override holds, in seconds (default {default_ttl_s:g}, "
                f"at least {TTL_MIN_S:g}, at most {max_ttl_s:g}); then the controller decides "
                "on its own again"
            ),
        )
        force: StrictBool = Field(
            default=False, description="switch even if the target route looks down"
        )

    return FailoverRequest
