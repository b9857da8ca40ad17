"""The cluster's truth for ``/v1/status`` and ``/v1/cluster``, from a node's ``ClusterAgent``.

Every node answers the same: the route is the shared route record, unless the last-resort rule
fired here (then the modem forwards to on-call, whatever the record says); who wrote it is the
shared read-back record (node, epoch) or the rule; the decision is the acting leader's (its member
record). Without a ZooKeeper quorum nothing shared is current: the route is reported unverified,
with a note saying since when, and no node is named leader.
"""

from __future__ import annotations

import time
from datetime import datetime

from controller.config import Route
from controller.coordination.base import Coordinator, JsonDoc
from controller.daemon_cluster import ClusterAgent
from controller.loop.parts import Cached
from controller.service.contract import (
    ActiveRoute,
    ClusterReport,
    ClusterStatus,
    MemberView,
    Readback,
    RouteWriter,
)

_ROLES = ("leader", "follower", "deposed", "last-resort")


def _dt(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _route(value: object) -> Route | None:
    try:
        return Route(str(value)) if value else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def quorum_lost_s(coord: Coordinator) -> float | None:
    lost = coord.quorum_lost_since()
    return None if lost is None else round(time.monotonic() - lost, 1)


def active_route(agent: ClusterAgent | None, cache: Cached, quorum: bool) -> ActiveRoute:
    """The route in force: the rule's forward when it fired here, else the shared record (not
    verified while the record cannot be current)."""
    if agent is not None and agent.fired is not None:
        return ActiveRoute(
            route=Route.ONCALL, number=agent.fired.number, since=agent.fired.at, verified=True
        )
    rec = cache.route
    return ActiveRoute(
        route=rec.route,
        number=rec.number,
        since=rec.since,
        verified=rec.verified and cache.change is None and quorum,
        failed=rec.failed,
    )


def _readback(doc: JsonDoc | None) -> Readback | None:
    if not doc:
        return None
    return Readback(
        number=doc.get("number"),
        route=str(doc["route"]) if doc.get("route") else None,
        at=_dt(doc.get("at")),
        node=doc.get("node"),
        epoch=_int(doc.get("epoch")),
        wrote=bool(doc.get("wrote")),
    )


def cluster_status(agent: ClusterAgent, cache: Cached) -> ClusterStatus:
    coord = agent.coord
    lost = quorum_lost_s(coord)
    quorum = lost is None
    readback = _readback(agent.cache.modem)
    writer: RouteWriter | None = None
    if agent.fired is not None:
        writer = RouteWriter(kind="last-resort", node=agent.node, at=agent.fired.at)
    elif isinstance(write := (agent.cache.modem or {}).get("write"), dict):
        writer = RouteWriter(
            kind="leader",
            node=write.get("node"),
            epoch=_int(write.get("epoch")),
            at=_dt(write.get("at")),
        )
    leader = agent.acting_leader() if quorum else None
    decision = (leader or {}).get("decision") or {}
    name = agent.leader()
    notes = []
    if not quorum:
        notes.append(
            f"no ZooKeeper quorum for {lost:g}s: shared state as of {agent.cache.as_of}, "
            "no node may actuate"
            + ("; the last-resort rule forwarded to on-call here" if agent.fired else "")
        )
    elif name is None:
        notes.append("no node may actuate right now (election or lease renewal in progress)")
    if agent.cache.error:
        notes.append(agent.cache.error)
    return ClusterStatus(
        leader=name,
        quorum=quorum,
        quorum_lost_s=lost,
        route=active_route(agent, cache, quorum),
        readback=readback,
        written_by=writer,
        desired=_route(decision.get("desired")),
        reason=str(decision.get("reason", "")),
        conditions=[str(c) for c in decision.get("conditions", [])],
        as_of=agent.cache.as_of,
        note="; ".join(notes),
    )


def _member(doc: JsonDoc) -> MemberView:
    role = doc.get("role")
    return MemberView(
        node=str(doc.get("node")),
        role=role if role in _ROLES else "follower",
        may_actuate=bool(doc.get("may_actuate")),
        epoch=_int(doc.get("epoch")),
        session=str(doc.get("session", "unknown")),
        zk_server=doc.get("zk_server"),
        last_seen=_dt(doc.get("at")),
        holds_modem=bool(doc.get("holds_modem")),
        api=doc.get("api"),
    )


def leader_api(agent: ClusterAgent | None, node: str) -> tuple[str | None, str | None]:
    """(node, API URL) of the node that may actuate, when it is another node."""
    leader = agent.acting_leader() if agent is not None else None
    if leader is None or leader.get("node") == node:
        return None, None
    return str(leader.get("node")), leader.get("api")


def cluster_report(agent: ClusterAgent | None, node: str, coord: Coordinator) -> ClusterReport:
    """Every member as last read; this node's own record is always fresh (it is ours)."""
    if agent is None:
        return ClusterReport(
            node=node,
            cluster_epoch=coord.cluster_epoch(),
            leader=node if coord.may_actuate() else None,
            error="this node runs no cluster agent",
        )
    docs = dict(agent.cache.members)
    docs[agent.node] = agent.member_doc()
    quorum = agent.coord.quorum_lost_since() is None
    error = agent.cache.error
    if not quorum:
        error = f"no ZooKeeper quorum for {quorum_lost_s(agent.coord):g}s; others as last read"
    return ClusterReport(
        node=agent.node,
        cluster_epoch=agent.coord.cluster_epoch(),
        leader=agent.leader(),
        members=[_member(docs[n]) for n in sorted(docs)],
        as_of=agent.cache.as_of,
        error=error,
    )
