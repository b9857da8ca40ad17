"""Properties of decide() over random worlds (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config import Route
from controller.decide.decision import Override, Pause, RouteState, decide, route_health
from health.model import ComponentState, HealthSnapshot, Status
from tests.decision_helpers import ALWAYS, COMPONENTS, NOW, POLICY, calendar

statuses = st.sampled_from(list(Status))
routes = st.sampled_from(list(Route))
ages = st.integers(min_value=0, max_value=7200)


@st.composite
def snapshots(draw: st.DrawFn) -> HealthSnapshot:
    states = []
    for name in COMPONENTS:
        status = draw(statuses)
        since = None if status is Status.UNKNOWN else NOW - timedelta(seconds=draw(ages))
        states.append(ComponentState(name, status, since, "why"))
    return HealthSnapshot.of(NOW, states)


@st.composite
def route_states(draw: st.DrawFn) -> RouteState:
    route = draw(st.none() | routes)
    switches = draw(st.lists(ages, max_size=6))
    times = tuple(NOW - timedelta(seconds=s) for s in switches)
    return RouteState(route, NOW - timedelta(hours=2), times)


overrides = st.none() | st.builds(
    Override,
    target=routes,
    reason=st.just("test"),
    who=st.just("ops"),
    expires_at=st.integers(-600, 600).map(lambda s: NOW + timedelta(seconds=s)),
    force=st.booleans(),
)
pauses = st.none() | st.just(Pause("maintenance", "ops"))
calendars = st.sampled_from([ALWAYS, calendar(Route.ONCALL), calendar(Route.SECONDARY)])


@settings(max_examples=400, deadline=None)
@given(snapshots(), route_states(), overrides, pauses, calendars)
def test_never_a_down_route_unless_forced(snap, current, override, pause, cal) -> None:  # type: ignore[no-untyped-def]
    d = decide(snap, current, override, pause, cal, POLICY, NOW)
    assert d.reason
    if d.route is None:
        return
    health = route_health(snap, POLICY.topology)
    forced = override is not None and override.force and override.expires_at > NOW
    if not forced:
        # The on-call mobile is always reachable, so a healthy route always exists.
        assert health[d.route].status is not Status.DOWN, d.reason


@settings(max_examples=300, deadline=None)
@given(snapshots(), route_states(), overrides, pauses, calendars)
def test_same_inputs_same_output(snap, current, override, pause, cal) -> None:  # type: ignore[no-untyped-def]
    assert decide(snap, current, override, pause, cal, POLICY, NOW) == decide(
        snap, current, override, pause, cal, POLICY, NOW
    )


@settings(max_examples=300, deadline=None)
@given(snapshots(), route_states(), overrides.filter(lambda o: o is not None), pauses, calendars)
def test_override_wins_until_expiry(snap, current, override, pause, cal) -> None:  # type: ignore[no-untyped-def]
    d = decide(snap, current, override, pause, cal, POLICY, NOW)
    target_down = route_health(snap, POLICY.topology)[override.target].status is Status.DOWN
    if override.expires_at > NOW and (override.force or not target_down):
        assert d.route is override.target
    elif override.expires_at <= NOW:
        assert "expired" in d.reason


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(*[statuses.filter(lambda s: s is not Status.UNKNOWN)] * 4),
        min_size=20,
        max_size=120,
    ),
    st.integers(min_value=5, max_value=120),
)
def test_flap_guard_bounds_switches_per_window(worlds, step_s) -> None:  # type: ignore[no-untyped-def]
    """Feed decisions back over a random run: no window holds more than max + 1 switches."""
    since = {name: NOW - timedelta(hours=1) for name in COMPONENTS}
    last = {name: Status.UP for name in COMPONENTS}
    current = RouteState(Route.PRIMARY, NOW - timedelta(hours=1))
    switches: list = []
    for i, world in enumerate(worlds):
        now = NOW + timedelta(seconds=i * step_s)
        states = []
        for name, status in zip(COMPONENTS, world, strict=True):
            if status is not last[name]:
                last[name], since[name] = status, now
            states.append(ComponentState(name, status, since[name], "why"))
        d = decide(HealthSnapshot.of(now, states), current, None, None, ALWAYS, POLICY, now)
        if d.route is not None and d.route is not current.route:
            switches.append(now)
            recent = tuple(t for t in switches if now - t < POLICY.flap_window)
            current = RouteState(d.route, now, recent)
    for t in switches:
        in_window = [u for u in switches if timedelta(0) <= t - u < POLICY.flap_window]
        assert len(in_window) <= POLICY.flap_max_switches + 1
