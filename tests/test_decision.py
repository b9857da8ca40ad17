"""The decision engine, rule by rule: each row asserts the route, the cause and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from controller.config import Route
from controller.decide.decision import (
    Cause,
    Condition,
    Decision,
    Override,
    Pause,
    RouteState,
    decide,
)
from controller.decide.schedule import Calendar
from health.model import HealthSnapshot
from tests.decision_helpers import ALWAYS, NOW, POLICY, at, calendar, snap

P, S, C = Route.PRIMARY, Route.SECONDARY, Route.ONCALL


@dataclass
class Case:
    name: str
    health: HealthSnapshot
    current: RouteState
    route: Route | None
    cause: Cause
    reason: str  # a fragment the reason must contain
    conditions: set[Condition] = field(default_factory=set)
    override: Override | None = None
    pause: Pause | None = None
    cal: Calendar = ALWAYS


def _ov(target: Route, *, force: bool = False, expires_in: int = 600) -> Override:
    expires = NOW + timedelta(seconds=expires_in)
    return Override(target, "carrier maintenance", "ops", expires, force)


CASES = [
    # -- the three routes -------------------------------------------------------------------------
    Case("all healthy stays primary", snap(), at(P), P, Cause.STAY, "primary healthy"),
    Case(
        "primary trunk down -> secondary",
        snap(trunk_a="down"),
        at(P),
        S,
        Cause.ESCAPE,
        "primary is down (trunk-a down (timeout)); switching to secondary",
        {Condition.PARTIAL_OUTAGE},
    ),
    Case(
        "both trunks down -> oncall",
        snap(trunk_a="down", trunk_b="down"),
        at(P),
        C,
        Cause.ESCAPE,
        "switching to oncall (secondary down: trunk-b down (timeout))",
        {Condition.TOTAL_OUTAGE},
    ),
    Case(
        "PBX cluster below quorum -> oncall",
        snap(pbx_1="down", pbx_2="down"),
        at(P),
        C,
        Cause.ESCAPE,
        "PBX cluster 0/2 up, quorum 1",
        {Condition.TOTAL_OUTAGE},
    ),
    Case(
        "one PBX node down keeps quorum",
        snap(pbx_1="down"),
        at(P),
        P,
        Cause.STAY,
        "primary healthy",
    ),
    Case(
        "secondary down while on primary changes nothing",
        snap(trunk_b="down"),
        at(P),
        P,
        Cause.STAY,
        "primary healthy",
        {Condition.PARTIAL_OUTAGE},
    ),
    Case(
        "escape from secondary to oncall",
        snap(trunk_a="down", trunk_b="down"),
        at(S),
        C,
        Cause.ESCAPE,
        "secondary is down",
        {Condition.TOTAL_OUTAGE},
    ),
    Case(
        "escape ignores the failback hold",
        snap(trunk_a="down", trunk_b=("up", 5)),
        at(P),
        S,
        Cause.ESCAPE,
        "switching to secondary",
        {Condition.PARTIAL_OUTAGE},
    ),
    # -- unknown is not down ----------------------------------------------------------------------
    Case(
        "unknown current route is held",
        snap(trunk_a="unknown"),
        at(P),
        P,
        Cause.HOLD,
        "primary health unknown (trunk-a unknown); not failing over on missing data",
        {Condition.HEALTH_UNKNOWN},
    ),
    Case(
        "nothing known at start: hold",
        snap(trunk_a="unknown", trunk_b="unknown", pbx_1="unknown", pbx_2="unknown"),
        at(None),
        None,
        Cause.HOLD,
        "waiting for probes",
        {Condition.HEALTH_UNKNOWN},
    ),
    Case(
        "start with health known takes primary", snap(), at(None), P, Cause.STAY, "taking primary"
    ),
    Case(
        "start with primary down takes secondary",
        snap(trunk_a="down"),
        at(None),
        S,
        Cause.ESCAPE,
        "taking secondary (primary down",
        {Condition.PARTIAL_OUTAGE},
    ),
    Case(
        "unknown secondary while primary down: stay on secondary",
        snap(trunk_a="down", trunk_b="unknown"),
        at(S),
        S,
        Cause.HOLD,
        "secondary health unknown",
        {Condition.PARTIAL_OUTAGE, Condition.HEALTH_UNKNOWN},
    ),
    # -- failback hold ----------------------------------------------------------------------------
    Case(
        "failback waits for the hold time",
        snap(trunk_a=("up", 30)),
        at(S),
        S,
        Cause.HOLD,
        "primary up for 30s, moving after 2m00s; staying on secondary",
        {Condition.FAILBACK_PENDING},
    ),
    Case(
        "failback after the hold time",
        snap(trunk_a=("up", 121)),
        at(S),
        P,
        Cause.FAILBACK,
        "primary healthy for 2m01s; failing back from secondary",
    ),
    Case(
        "oncall fails back to primary", snap(), at(C), P, Cause.FAILBACK, "failing back from oncall"
    ),
    Case(
        "oncall fails back to secondary when primary is down",
        snap(trunk_a="down"),
        at(C),
        S,
        Cause.FAILBACK,
        "failing back from oncall",
        {Condition.PARTIAL_OUTAGE},
    ),
    Case(
        "the PBX cluster's own recovery counts for the hold",
        snap(pbx_1=("up", 10), pbx_2="down"),
        at(C),
        C,
        Cause.HOLD,
        "primary up for 10s",
        {Condition.FAILBACK_PENDING},
    ),
    # -- flap guard -------------------------------------------------------------------------------
    Case(
        "flapping holds instead of failing back",
        snap(),
        at(S, 60, 120, 180),
        S,
        Cause.HOLD,
        "flapping: 3 switches in the last 10m00s; holding secondary instead of moving to primary",
        {Condition.FLAPPING},
    ),
    Case(
        "old switches do not count",
        snap(),
        at(S, 600, 700, 800),
        P,
        Cause.FAILBACK,
        "failing back from secondary",
    ),
    Case(
        "flapping never keeps calls on a down route: escape to oncall",
        snap(trunk_b="down"),
        at(S, 60, 120, 180),
        C,
        Cause.ESCAPE,
        "secondary is down (trunk-b down (timeout)) while flapping",
        {Condition.FLAPPING, Condition.PARTIAL_OUTAGE},
    ),
    # -- manual override --------------------------------------------------------------------------
    Case(
        "override to secondary",
        snap(),
        at(P),
        S,
        Cause.OVERRIDE,
        "manual override by ops until 2026-11-25 10:10 UTC: carrier maintenance",
        {Condition.OVERRIDE},
        override=_ov(S),
    ),
    Case(
        "override to oncall",
        snap(),
        at(P),
        C,
        Cause.OVERRIDE,
        "manual override by ops",
        {Condition.OVERRIDE},
        override=_ov(C),
    ),
    Case(
        "override to a down route is refused without force",
        snap(trunk_b="down"),
        at(P),
        P,
        Cause.STAY,
        "override to secondary by ops not applied: secondary is down",
        {Condition.OVERRIDE_REFUSED, Condition.PARTIAL_OUTAGE},
        override=_ov(S),
    ),
    Case(
        "forced override to a down route",
        snap(trunk_b="down"),
        at(P),
        S,
        Cause.OVERRIDE,
        "(forced onto a down route)",
        {Condition.OVERRIDE, Condition.PARTIAL_OUTAGE},
        override=_ov(S, force=True),
    ),
    Case(
        "expired override is ignored",
        snap(),
        at(S),
        P,
        Cause.FAILBACK,
        "override to secondary by ops expired; primary healthy",
        {Condition.OVERRIDE_EXPIRED},
        override=_ov(S, expires_in=0),
    ),
    Case(
        "override beats the flap guard",
        snap(),
        at(P, 60, 120, 180),
        S,
        Cause.OVERRIDE,
        "manual override",
        {Condition.OVERRIDE},
        override=_ov(S),
    ),
    Case(
        "override onto an unknown route applies",
        snap(trunk_b="unknown"),
        at(P),
        S,
        Cause.OVERRIDE,
        "manual override",
        {Condition.OVERRIDE, Condition.HEALTH_UNKNOWN},
        override=_ov(S),
    ),
    # -- pause ------------------------------------------------------------------------------------
    Case(
        "pause freezes",
        snap(),
        at(S),
        None,
        Cause.HOLD,
        "paused by ops: PBX upgrade; automatic decisions frozen",
        {Condition.PAUSED},
        pause=Pause("PBX upgrade", "ops"),
    ),
    Case(
        "pause warns about a down route",
        snap(trunk_a="down"),
        at(P),
        None,
        Cause.HOLD,
        "warning: primary is down (trunk-a down (timeout))",
        {Condition.PAUSED, Condition.PAUSED_ON_DOWN_ROUTE, Condition.PARTIAL_OUTAGE},
        pause=Pause("PBX upgrade", "ops"),
    ),
    Case(
        "pause with a TTL holds until it ends",
        snap(trunk_a="down"),
        at(P),
        None,
        Cause.HOLD,
        "paused by ops until 2026-11-25 13:00 UTC: PBX upgrade",
        {Condition.PAUSED, Condition.PAUSED_ON_DOWN_ROUTE, Condition.PARTIAL_OUTAGE},
        pause=Pause("PBX upgrade", "ops", NOW.replace(hour=13, minute=0)),
    ),
    Case(
        "an expired pause freezes nothing: the down route is left",
        snap(trunk_a="down"),
        at(P),
        S,
        Cause.ESCAPE,
        "pause by ops expired; primary is down",
        {Condition.PAUSE_EXPIRED, Condition.PARTIAL_OUTAGE},
        pause=Pause("PBX upgrade", "ops", NOW),
    ),
    Case(
        "override applies while paused",
        snap(),
        at(P),
        C,
        Cause.OVERRIDE,
        "manual override",
        {Condition.OVERRIDE},
        override=_ov(C),
        pause=Pause("PBX upgrade", "ops"),
    ),
    # -- schedule ---------------------------------------------------------------------------------
    Case(
        "off-hours route oncall",
        snap(),
        at(P),
        C,
        Cause.SCHEDULE,
        "off-hours: schedule routes calls to oncall",
        {Condition.OFF_HOURS},
        cal=calendar(C, holidays=(date(2026, 11, 25),)),
    ),
    Case(
        "off-hours default keeps primary",
        snap(),
        at(P),
        P,
        Cause.STAY,
        "primary healthy",
        {Condition.OFF_HOURS},
        cal=calendar(P, holidays=(date(2026, 11, 25),)),
    ),
    Case(
        "off-hours route secondary when secondary is down stays primary",
        snap(trunk_b="down"),
        at(P),
        P,
        Cause.STAY,
        "staying on primary (secondary down",
        {Condition.OFF_HOURS, Condition.PARTIAL_OUTAGE},
        cal=calendar(S, holidays=(date(2026, 11, 25),)),
    ),
    Case(
        "business hours bring calls back from the off-hours route",
        snap(),
        at(C),
        P,
        Cause.SCHEDULE,
        "business hours: schedule routes calls to primary",
        cal=calendar(C),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    d = decide(case.health, case.current, case.override, case.pause, case.cal, POLICY, NOW)
    assert (d.route, d.cause) == (case.route, case.cause), d.reason
    assert case.reason in d.reason
    assert set(d.conditions) == case.conditions, d.reason


def test_hold_property() -> None:
    assert Decision(None, "x", Cause.HOLD).hold
    assert not Decision(Route.PRIMARY, "x", Cause.STAY).hold


def test_off_hours_by_time_of_day() -> None:
    cal = calendar(C)
    evening = NOW.replace(hour=17)  # 18:00 in Prague
    d = decide(snap(), at(P), None, None, cal, POLICY, evening)
    assert d.route is C and d.cause is Cause.SCHEDULE


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(snap(), at(P), None, None, calendar(C), POLICY, NOW.replace(tzinfo=None))


def test_the_decision_names_what_is_down_for_the_alert_text() -> None:
    d = decide(snap(pbx_1="down", pbx_2="down"), at(P), None, None, ALWAYS, POLICY, NOW)
    assert d.down == ("pbx-1", "pbx-2", "pbx")  # the nodes, then the cluster as a whole
    d = decide(snap(trunk_a="down"), at(P), None, None, ALWAYS, POLICY, NOW)
    assert (d.route, d.down) == (S, ("trunk-a",))
    assert decide(snap(), at(P), None, None, ALWAYS, POLICY, NOW).down == ()


def test_an_override_carries_who_and_why() -> None:
    d = decide(snap(), at(P), _ov(S), None, ALWAYS, POLICY, NOW)
    assert d.cause is Cause.OVERRIDE and d.by == "ops" and d.why
