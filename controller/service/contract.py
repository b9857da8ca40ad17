"""The contract between the HTTP API (controller/api/) and the running controller.

The API records intent and reads state; the reconcile loop acts (STYLE lesson 10). The API only
ever talks to a ``ControllerService``; the daemon provides the real one, API tests may use a fake.
All times are UTC. Nothing here carries a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from controller.config import Route

Mode = Literal["auto", "paused", "override"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ComponentView(_View):
    name: str
    kind: str
    status: Literal["up", "down", "unknown"]
    since: datetime | None
    reason: str = ""
    latency_ms: float | None = None


class OverrideView(_View):
    to: Route
    reason: str
    who: str
    expires_at: datetime
    force: bool


class PauseView(_View):
    reason: str
    who: str
    since: datetime


class ActiveRoute(_View):
    route: Route | None  # None: not known yet (e.g. just started, modem unreadable)
    number: str | None  # the number the SIM forwards to
    since: datetime | None
    verified: bool  # read back from the world after the last change
    failed: bool = False  # the last attempt to reach the desired route failed


class RouteWriter(_View):
    """Who last put the forwarding in the modem: a leader's term, or the last-resort rule."""

    kind: Literal["leader", "last-resort"]
    node: str | None
    epoch: int | None = None
    at: datetime | None = None


class Readback(_View):
    """What the modem last showed for the unconditional forward (shared by the leader)."""

    number: str | None  # None: no unconditional forward
    route: str | None  # primary / secondary / oncall / foreign / none
    at: datetime | None
    node: str | None
    epoch: int | None = None
    wrote: bool = False  # read back right after a write


class ClusterStatus(_View):
    """The cluster's truth as this node knows it, beside the node's own view (``StatusReport``).

    From the shared state (the route record, the modem's read-back record) and the member records
    every node publishes. ``as_of`` is when this node last read them; without a ZooKeeper quorum
    they are stale, and ``quorum`` says so."""

    leader: str | None  # the node that may actuate now; None: nobody known to
    quorum: bool
    quorum_lost_s: float | None = None
    route: ActiveRoute
    readback: Readback | None = None
    written_by: RouteWriter | None = None
    desired: Route | None = None
    reason: str = ""
    conditions: list[str] = Field(default_factory=list)
    as_of: datetime | None = None
    note: str = ""


class MemberView(_View):
    """One node, as ``hotline cluster`` lists it (from its member record)."""

    node: str
    role: Literal["leader", "follower", "deposed", "last-resort"]
    may_actuate: bool
    epoch: int | None = None
    session: str = "unknown"
    zk_server: str | None = None
    last_seen: datetime | None = None
    holds_modem: bool = False
    api: str | None = None


class ClusterReport(_View):
    """``GET /v1/cluster``: every live member, as this node reads them."""

    node: str
    cluster_epoch: int | None
    leader: str | None
    members: list[MemberView] = Field(default_factory=list)
    as_of: datetime | None = None
    error: str | None = None  # why the list may be incomplete (e.g. no quorum)


class StatusReport(_View):
    node: str
    leader: str | None
    is_leader: bool
    mode: Mode
    active: ActiveRoute
    desired: Route | None
    reason: str  # the last decision's reason
    conditions: list[str] = Field(default_factory=list)
    components: list[ComponentView] = Field(default_factory=list)
    override: OverrideView | None = None
    pause: PauseView | None = None
    flapping: bool = False
    oncall: str | None = None  # the technician on call now (name)
    epoch: int | None = None
    may_actuate: bool = False  # this node leads and its lease runs: it may act now
    own_decision: str | None = None  # this node's own last decision (None on a follower)
    cluster: ClusterStatus | None = None


class EventRecord(_View):
    id: int
    at: datetime
    kind: str  # decision | actuation | switch | manual | drift | alert | ...
    route_from: Route | None = None
    route_to: Route | None = None
    reason: str = ""
    who: str | None = None
    epoch: int | None = None
    outcome: str | None = None  # ok | failed | dry-run | ...
    duration_ms: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    node: str | None = None  # the node that wrote it, in the cluster's merged log


class ActionResult(_View):
    """What a manual action led to, reported once the loop has acted (or the wait timed out)."""

    accepted: bool
    verified: bool
    route: Route | None
    message: str
    event_id: int | None = None


class ControllerService(Protocol):
    """What the API needs from the controller. ``who`` is the API token's name (for the audit)."""

    def status(self) -> StatusReport: ...

    def events(self, since: datetime | None, limit: int) -> list[EventRecord]: ...

    def is_leader(self) -> bool:
        """This node may actuate now (``GET /leader``): leader, connected, lease running."""
        ...

    def is_ready(self) -> bool: ...

    def collectors(self) -> Sequence[Collector]:
        """Prometheus collectors of the controller's own machinery (loop counters, probes,
        coordination, modem), read at scrape time; the API adds what ``status()`` reports."""
        ...

    async def failover(
        self, to: Route, reason: str, ttl_s: float | None, force: bool, who: str
    ) -> ActionResult: ...

    async def failback(self, reason: str, who: str) -> ActionResult: ...

    async def pause(self, reason: str, who: str, ttl_s: float | None = None) -> ActionResult: ...

    async def resume(self, reason: str, who: str) -> ActionResult: ...

    async def handover(self, who: str) -> ActionResult:
        """Give up leadership so that another node takes over (before maintenance of this one).

        ``accepted`` and ``verified``: another node leads now. Not ``accepted``: nothing moved
        (this node was not the leader, or no other node could take over); ``message`` says why.
        The API answers 501 for a service that does not have this method.
        """
        ...
