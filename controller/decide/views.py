"""What a clustered leader may believe about health: fresh probes of its own term, and the
majority rule over the nodes' published views. The rules are pure; ``controller.loop.leader_view``
runs them on a live node (``LeaderView``).

Every node runs the probes and publishes ``{"at": <UTC ISO>, "components": {name: status}}``. With
``zookeeper.majority_view`` on, the leader fails over only on what a majority of the cluster sees:
a component the leader sees *down* that fewer than a majority of nodes (counting the configured
``cluster_size``, not just the nodes alive) report down is treated as *unknown* for the decision —
and unknown is not down, so one node's own network trouble does not move the hotline. Views older
than ``max_age_s`` are ignored (a frozen node must not vote).

A new leader must not act on what it saw as a follower: components not probed again since the
term began are reported *unknown* (``fresh_in_term``; unknown holds the route in force; one probe
interval later the leader acts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from health.model import HealthSnapshot, Status

ViewDoc = Mapping[str, object]
"""One node's published view (a JSON document): ``{"at": ..., "components": {...}}``."""


def _fresh(view: ViewDoc, now: datetime, max_age_s: float) -> bool:
    try:
        at = datetime.fromisoformat(str(view.get("at")))
    except ValueError:
        return False
    return at.tzinfo is not None and (now - at).total_seconds() <= max_age_s


def down_votes(
    views: Mapping[str, ViewDoc], now: datetime, max_age_s: float
) -> dict[str, list[str]]:
    """Component → the nodes whose fresh view reports it down."""
    votes: dict[str, list[str]] = {}
    for node, view in sorted(views.items()):
        comps = view.get("components")
        if not isinstance(comps, Mapping) or not _fresh(view, now, max_age_s):
            continue
        for name, status in comps.items():
            if status == Status.DOWN:
                votes.setdefault(str(name), []).append(node)
    return votes


def apply_majority(
    snapshot: HealthSnapshot,
    views: Mapping[str, ViewDoc],
    cluster_size: int,
    max_age_s: float,
    sole_witness: frozenset[str] = frozenset(),
) -> HealthSnapshot:
    """The leader's snapshot with every down component not confirmed by a majority made unknown.

    ``sole_witness``: components only the node that acts can probe (the GSM modem: one node
    holds its port, the others report it unknown, "held by the leader"). Nobody else can confirm
    them, so the leader's own verdict stands; otherwise a dead modem would never be reported."""
    majority = cluster_size // 2 + 1
    votes = down_votes(views, snapshot.taken_at, max_age_s)
    states = []
    for state in snapshot.components.values():
        seen = votes.get(state.name, [])
        alone = state.name not in sole_witness and len(seen) < majority
        if state.status is Status.DOWN and alone:
            who = ", ".join(seen) or "no node's published view"
            state = replace(
                state,
                status=Status.UNKNOWN,
                reason=f"down on {who} only ({len(seen)} of {cluster_size} nodes, "
                f"{majority} needed): {state.reason}",
            )
        states.append(state)
    return HealthSnapshot.of(snapshot.taken_at, states)


def view_of(snapshot: HealthSnapshot) -> dict[str, object]:
    """The document a node publishes for its snapshot."""
    return {
        "at": snapshot.taken_at.isoformat(),
        "components": {n: str(s.status) for n, s in snapshot.components.items()},
    }


def fresh_in_term(snapshot: HealthSnapshot, baseline: Mapping[str, int]) -> HealthSnapshot:
    """Components not probed since the term began (``samples`` unchanged) become unknown."""
    states = []
    for state in snapshot.components.values():
        if state.samples <= baseline.get(state.name, -1) and state.status is not Status.UNKNOWN:
            state = replace(
                state,
                status=Status.UNKNOWN,
                reason=f"new leader: waiting for this term's first probe "
                f"(was {state.status}: {state.reason})",
            )
        states.append(state)
    return HealthSnapshot.of(snapshot.taken_at, states)
