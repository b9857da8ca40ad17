"""The majority rule: one node's view alone does not move the hotline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.decide.views import apply_majority, down_votes, view_of
from health.model import ComponentState, HealthSnapshot, Status

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def snap(**statuses: Status) -> HealthSnapshot:
    return HealthSnapshot.of(
        NOW,
        [
            ComponentState(n, s, NOW, "timeout" if s is Status.DOWN else "ok")
            for n, s in statuses.items()
        ],
    )


def view(at: datetime = NOW, **statuses: str) -> dict[str, Any]:
    return {"at": at.isoformat(), "components": statuses}


def test_down_seen_by_the_leader_alone_becomes_unknown() -> None:
    mine = snap(trunk_a=Status.DOWN, trunk_b=Status.UP)
    views = {"n1": view_of(mine), "n2": view(trunk_a="up"), "n3": view(trunk_a="up")}
    out = apply_majority(mine, views, cluster_size=3, max_age_s=30)
    assert out.get("trunk_a").status is Status.UNKNOWN
    assert out.get("trunk_a").reason == "down on n1 only (1 of 3 nodes, 2 needed): timeout"
    assert out.get("trunk_b").status is Status.UP


def test_down_confirmed_by_a_majority_stays_down() -> None:
    mine = snap(trunk_a=Status.DOWN)
    views = {"n1": view_of(mine), "n2": view(trunk_a="down"), "n3": view(trunk_a="unknown")}
    out = apply_majority(mine, views, cluster_size=3, max_age_s=30)
    assert out.get("trunk_a").status is Status.DOWN and out.get("trunk_a").reason == "timeout"


def test_the_majority_counts_the_configured_cluster_not_the_live_nodes() -> None:
    """With two of three nodes gone, the survivor alone is not a majority."""
    mine = snap(trunk_a=Status.DOWN)
    out = apply_majority(mine, {"n1": view_of(mine)}, cluster_size=3, max_age_s=30)
    assert out.get("trunk_a").status is Status.UNKNOWN
    single = apply_majority(mine, {"n1": view_of(mine)}, cluster_size=1, max_age_s=30)
    assert single.get("trunk_a").status is Status.DOWN


def test_stale_and_malformed_views_do_not_vote() -> None:
    old = NOW - timedelta(seconds=31)
    views: dict[str, dict[str, Any]] = {
        "n1": view(trunk_a="down"),
        "n2": view(old, trunk_a="down"),
        "n3": {"at": "yesterday", "components": {"trunk_a": "down"}},
        "n4": {"at": NOW.isoformat(), "components": "down"},
    }
    assert down_votes(views, NOW, 30) == {"trunk_a": ["n1"]}
    out = apply_majority(snap(trunk_a=Status.DOWN), views, cluster_size=3, max_age_s=30)
    assert out.get("trunk_a").status is Status.UNKNOWN


def test_the_modem_is_judged_by_the_one_node_that_can_see_it() -> None:
    """Only the node holding the modem's port can probe it; the others report it unknown ("held
    by the leader"). Its down must stand on the leader's word, or a dead modem, which stops every
    change of route, would never be reported in a cluster with the majority rule on."""
    mine = snap(modem=Status.DOWN, trunk_a=Status.DOWN)
    views = {
        "n1": view_of(mine),
        "n2": view(modem="unknown", trunk_a="up"),
        "n3": view(modem="unknown", trunk_a="up"),
    }
    out = apply_majority(
        mine, views, cluster_size=3, max_age_s=30, sole_witness=frozenset({"modem"})
    )
    assert out.get("modem").status is Status.DOWN and out.get("modem").reason == "timeout"
    assert out.get("trunk_a").status is Status.UNKNOWN  # the rule still holds for the rest
