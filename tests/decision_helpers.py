"""Builders shared by the decision tests: a small topology and terse health snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.config import Route, Schedule
from controller.decide.decision import Policy, RouteState, Topology
from controller.decide.schedule import Calendar
from health.model import ComponentState, HealthSnapshot, Status

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Prague
LONG_AGO = NOW - timedelta(hours=1)
COMPONENTS = ("trunk-a", "trunk-b", "pbx-1", "pbx-2")

TOPOLOGY = Topology(
    primary=("trunk-a", "pbx"),
    secondary=("trunk-b", "pbx"),
    cluster_name="pbx",
    cluster_nodes=("pbx-1", "pbx-2"),
    cluster_quorum=1,
)
POLICY = Policy(
    topology=TOPOLOGY,
    failback_hold=timedelta(seconds=120),
    flap_max_switches=3,
    flap_window=timedelta(seconds=600),
)
ALWAYS = Calendar.always_open()


def calendar(off_hours_route: Route, **kw: object) -> Calendar:
    return Calendar.from_config(
        Schedule(
            timezone="Europe/Prague",
            business_hours={d: ("08:00-17:00",) for d in ("mon", "tue", "wed", "thu", "fri")},
            off_hours_route=off_hours_route,
            **kw,  # type: ignore[arg-type]
        )
    )


def snap(**states: str | tuple[str, int]) -> HealthSnapshot:
    """``snap(trunk_a="down")``; a tuple gives the seconds since the change: ``("up", 30)``.

    Components not named are up since long ago.
    """
    out = []
    for name in COMPONENTS:
        spec = states.get(name.replace("-", "_"), "up")
        status, ago = (spec, None) if isinstance(spec, str) else spec
        since = LONG_AGO if ago is None else NOW - timedelta(seconds=ago)
        reason = {"up": "200 OK", "down": "timeout", "unknown": ""}[status]
        out.append(
            ComponentState(name, Status(status), None if status == "unknown" else since, reason)
        )
    return HealthSnapshot.of(NOW, out)


def at(route: Route | None, *switch_ago_s: int) -> RouteState:
    return RouteState(
        route=route,
        since=LONG_AGO if route else None,
        switches=tuple(NOW - timedelta(seconds=s) for s in switch_ago_s),
    )
