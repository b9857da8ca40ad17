"""The failover decision: one pure function, ``decide()``, that returns a route and its reason.

No I/O and no clock: everything, ``now`` included, is an argument, so the same inputs always give
the same ``Decision``. The reconcile loop carries the decision out; this module only judges.

Rules, in the order they are applied (README.md shows them as a table for operators):

1. A manual override wins until it expires, except that it is not applied to a route that is down
   unless it is marked ``force`` (the automatic rules below decide instead, and say why).
2. Pause (maintenance) freezes the automatic decision: hold, change nothing, until it expires.
   Holding a route that is down raises ``paused_on_down_route`` (callers reach nothing).
3. Routes are tried in order of preference: primary, secondary, on-call mobile (off-hours: the
   schedule's route first). The first route that is up is the target. The on-call mobile is a GSM
   forward and is always reachable. Unknown health is not down: a route whose health is unknown is
   never left for that reason alone, and with no route known at all the decision holds.
4. Escaping a down route happens at once. Moving to a better route (failback, or a schedule change)
   waits until that route has been up for the failback hold time.
5. Flap guard: when the window already holds the maximum number of switches, no further move to a
   better route is made (the ``flapping`` condition is raised). An escape from a down route is never
   blocked, since keeping calls on a dead route would break the hotline's promise; while flapping
   it goes straight to the on-call mobile, the one route that cannot flap. So a window holds at
   most the maximum plus one switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from controller.config import HotlineConfig, Route
from controller.decide.schedule import Calendar
from health.model import Aggregate, HealthSnapshot, Status, all_of, at_least

DEFAULT_ORDER: tuple[Route, ...] = (Route.PRIMARY, Route.SECONDARY, Route.ONCALL)


class Cause(StrEnum):
    """Why the decision is what it is, in one word (for events and metrics)."""

    STAY = "stay"  # the current route is the right one
    ESCAPE = "escape"  # leaving a down route
    FAILBACK = "failback"  # moving to a better route that has been up long enough
    SCHEDULE = "schedule"  # business hours began or ended
    OVERRIDE = "override"  # a manual override applies
    HOLD = "hold"  # deliberately not moving (paused, flapping, waiting, unknown health)


class Condition(StrEnum):
    FLAPPING = "flapping"
    HEALTH_UNKNOWN = "health_unknown"
    PARTIAL_OUTAGE = "partial_outage"
    TOTAL_OUTAGE = "total_outage"
    OFF_HOURS = "off_hours"
    PAUSED = "paused"
    PAUSE_EXPIRED = "pause_expired"
    PAUSED_ON_DOWN_ROUTE = "paused_on_down_route"
    OVERRIDE = "override"
    OVERRIDE_REFUSED = "override_refused"
    OVERRIDE_EXPIRED = "override_expired"
    FAILBACK_PENDING = "failback_pending"


@dataclass(frozen=True, slots=True)
class Topology:
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    cluster_name: str
    cluster_nodes: tuple[str, ...]
    cluster_quorum: int

    @classmethod
    def from_config(cls, cfg: HotlineConfig) -> Topology:
        return cls(
            primary=cfg.lines.primary.depends_on,
            secondary=cfg.lines.secondary.depends_on,
            cluster_name=cfg.pbx_cluster.name,
            cluster_nodes=cfg.pbx_cluster.nodes,
            cluster_quorum=cfg.pbx_cluster.quorum,
        )


@dataclass(frozen=True, slots=True)
class Policy:
    topology: Topology
    failback_hold: timedelta
    flap_max_switches: int
    flap_window: timedelta

    @classmethod
    def from_config(cls, cfg: HotlineConfig) -> Policy:
        f = cfg.failover
        return cls(
            topology=Topology.from_config(cfg),
            failback_hold=timedelta(seconds=f.failback_hold_s),
            flap_max_switches=f.flap_max_switches,
            flap_window=timedelta(seconds=f.flap_window_s),
        )


@dataclass(frozen=True, slots=True)
class RouteState:
    """The route in force (None: not known yet) and when recent switches happened (UTC)."""

    route: Route | None
    since: datetime | None = None
    switches: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    target: Route
    reason: str
    who: str
    expires_at: datetime
    force: bool = False


@dataclass(frozen=True, slots=True)
class Pause:
    reason: str
    who: str
    until: datetime | None = None  # None: no expiry (a pause recorded before TTLs existed)


@dataclass(frozen=True, slots=True)
class Decision:
    """``route`` None means hold: change nothing."""

    route: Route | None
    reason: str
    cause: Cause
    conditions: frozenset[Condition] = frozenset()
    by: str | None = None  # who, when a person's action decided it (override, pause)
    why: str = ""  # that person's reason
    down: tuple[str, ...] = ()  # the route components that are down (for the alert text)

    @property
    def hold(self) -> bool:
        return self.route is None


def route_health(snapshot: HealthSnapshot, topology: Topology) -> dict[Route, Aggregate]:
    """Each route's health: a line is up when its own path and the PBX cluster are."""
    cluster = at_least(snapshot, topology.cluster_nodes, topology.cluster_quorum)
    cluster = Aggregate(cluster.status, cluster.since, f"PBX cluster {cluster.detail}")

    def line(deps: tuple[str, ...]) -> Aggregate:
        own = all_of(snapshot, [d for d in deps if d != topology.cluster_name])
        return _combine(own, cluster)

    return {
        Route.PRIMARY: line(topology.primary),
        Route.SECONDARY: line(topology.secondary),
        Route.ONCALL: Aggregate(Status.UP, None, "GSM forward to the on-call mobile"),
    }


def _combine(a: Aggregate, b: Aggregate) -> Aggregate:
    for status in (Status.DOWN, Status.UNKNOWN):
        bad = [x for x in (a, b) if x.status is status]
        if bad:
            sinces = [x.since for x in bad if x.since is not None]
            return Aggregate(status, max(sinces, default=None), "; ".join(x.detail for x in bad))
    sinces = [x.since for x in (a, b) if x.since is not None]
    return Aggregate(Status.UP, max(sinces, default=None), "all up")


def _outage_conditions(health: Mapping[Route, Aggregate]) -> set[Condition]:
    p, s = health[Route.PRIMARY].status, health[Route.SECONDARY].status
    conds: set[Condition] = set()
    if p is Status.DOWN and s is Status.DOWN:
        conds.add(Condition.TOTAL_OUTAGE)
    elif Status.DOWN in (p, s):
        conds.add(Condition.PARTIAL_OUTAGE)
    if Status.UNKNOWN in (p, s):
        conds.add(Condition.HEALTH_UNKNOWN)
    return conds


def decide(
    snapshot: HealthSnapshot,
    current: RouteState,
    override: Override | None,
    paused: Pause | None,
    calendar: Calendar,
    policy: Policy,
    now: datetime,
) -> Decision:
    """Which route the hotline should take now, and why. Pure; see the module docstring."""
    d = _decide(snapshot, current, override, paused, calendar, policy, now)
    t = policy.topology
    names = [n for n in dict.fromkeys((*t.primary, *t.secondary)) if n != t.cluster_name]
    down = [n for n in (*names, *t.cluster_nodes) if snapshot.get(n).status is Status.DOWN]
    if at_least(snapshot, t.cluster_nodes, t.cluster_quorum).status is Status.DOWN:
        down.append(t.cluster_name)  # the cluster as a whole: the text names it
    return replace(d, down=tuple(dict.fromkeys(down))) if down else d


def _decide(
    snapshot: HealthSnapshot,
    current: RouteState,
    override: Override | None,
    paused: Pause | None,
    calendar: Calendar,
    policy: Policy,
    now: datetime,
) -> Decision:
    health = route_health(snapshot, policy.topology)
    conds = _outage_conditions(health)
    note = ""
    if override is not None and now >= override.expires_at:
        conds.add(Condition.OVERRIDE_EXPIRED)
        note = f"override to {override.target} by {override.who} expired; "
        override = None
    if override is not None:
        h = health[override.target]
        if h.status is not Status.DOWN or override.force:
            forced = " (forced onto a down route)" if h.status is Status.DOWN else ""
            return Decision(
                override.target,
                f"manual override by {override.who} until {override.expires_at:%Y-%m-%d %H:%M} "
                f"UTC: {override.reason}{forced}",
                Cause.OVERRIDE,
                frozenset(conds | {Condition.OVERRIDE}),
                override.who,
                override.reason,
            )
        conds.add(Condition.OVERRIDE_REFUSED)
        note = (
            f"override to {override.target} by {override.who} not applied: {override.target} is "
            f"down ({h.detail}), set force to insist; "
        )
    if paused is not None and paused.until is not None and now >= paused.until:
        conds.add(Condition.PAUSE_EXPIRED)
        note += f"pause by {paused.who} expired; "
        paused = None
    if paused is not None:
        down, paused_conds = "", {Condition.PAUSED}
        if current.route is not None and health[current.route].status is Status.DOWN:
            down = f"; warning: {current.route} is down ({health[current.route].detail})"
            paused_conds.add(Condition.PAUSED_ON_DOWN_ROUTE)
        until = "" if paused.until is None else f" until {paused.until:%Y-%m-%d %H:%M} UTC"
        return Decision(
            None,
            f"{note}paused by {paused.who}{until}: {paused.reason}; automatic decisions "
            f"frozen{down}",
            Cause.HOLD,
            frozenset(conds | paused_conds),
            paused.who,
            paused.reason,
        )
    auto = _automatic(health, current, calendar, policy, now, conds)
    return Decision(auto.route, note + auto.reason, auto.cause, auto.conditions)


@dataclass(slots=True)
class _Auto:
    """What the automatic rules (3-5) look at, worked out once per decision."""

    health: Mapping[Route, Aggregate]
    order: list[Route]  # routes by preference (off-hours: the schedule's route first)
    target: Route  # the first route that is up
    skipped: dict[Route, str]  # the better routes passed over, and why
    recent: int  # switches in the flap window
    flapping: bool
    business: bool
    conds: set[Condition]

    @property
    def why_not(self) -> str:
        return f" ({'; '.join(self.skipped.values())})" if self.skipped else ""

    def done(self, route: Route | None, reason: str, cause: Cause) -> Decision:
        return Decision(route, reason, cause, frozenset(self.conds))


def _automatic(
    health: Mapping[Route, Aggregate],
    current: RouteState,
    calendar: Calendar,
    policy: Policy,
    now: datetime,
    conds: set[Condition],
) -> Decision:
    a = _situation(health, current, calendar, policy, now, conds)
    cur = current.route
    if cur is None:
        return _first_route(a)
    if a.target is cur:
        if a.skipped:
            return a.done(cur, f"staying on {cur}{a.why_not}", Cause.STAY)
        return a.done(cur, f"{cur} healthy", Cause.STAY)
    if health[cur].status is Status.DOWN:
        return _escape(a, cur, policy)
    if a.order.index(a.target) > a.order.index(cur):
        # The current route's health is unknown and nothing better is up: unknown is not down.
        return a.done(
            cur,
            f"{cur} health unknown ({health[cur].detail}); not failing over on missing data",
            Cause.HOLD,
        )
    return _better_route(a, cur, calendar, policy, now)


def _situation(
    health: Mapping[Route, Aggregate],
    current: RouteState,
    calendar: Calendar,
    policy: Policy,
    now: datetime,
    conds: set[Condition],
) -> _Auto:
    """Rule 3's order and target, and rule 5's flap count."""
    business = calendar.is_business_hours(now)
    order = list(DEFAULT_ORDER)
    if not business:
        conds.add(Condition.OFF_HOURS)
        order.remove(calendar.off_hours_route)
        order.insert(0, calendar.off_hours_route)
    skipped: dict[Route, str] = {}
    target = Route.ONCALL
    for r in order:
        if health[r].status is Status.UP:
            target = r
            break
        skipped[r] = f"{r} {health[r].status}: {health[r].detail}"
    recent = [t for t in current.switches if timedelta(0) <= now - t < policy.flap_window]
    flapping = len(recent) >= policy.flap_max_switches
    if flapping:
        conds.add(Condition.FLAPPING)
    return _Auto(health, order, target, skipped, len(recent), flapping, business, conds)


def _first_route(a: _Auto) -> Decision:
    """No route known yet: take the target, unless a better route's health is still unknown."""
    target = a.target
    unknown_before = [
        r for r in a.order[: a.order.index(target)] if a.health[r].status is Status.UNKNOWN
    ]
    if unknown_before:
        return a.done(
            None,
            f"current route not known and {unknown_before[0]} health unknown "
            f"({a.health[unknown_before[0]].detail}); waiting for probes",
            Cause.HOLD,
        )
    return a.done(target, f"taking {target}{a.why_not}", Cause.ESCAPE if a.skipped else Cause.STAY)


def _escape(a: _Auto, cur: Route, policy: Policy) -> Decision:
    """Rule 4 and 5: leave a down route at once; while flapping, for the on-call mobile."""
    cur_health = a.health[cur]
    if a.flapping and a.target is not Route.ONCALL:
        return a.done(
            Route.ONCALL,
            f"{cur} is down ({cur_health.detail}) while flapping ({a.recent} switches in "
            f"the last {_secs(policy.flap_window)}); switching to oncall, the stable route",
            Cause.ESCAPE,
        )
    others = [text for r, text in a.skipped.items() if r is not cur]
    return a.done(
        a.target,
        f"{cur} is down ({cur_health.detail}); switching to {a.target}"
        + (f" ({'; '.join(others)})" if others else ""),
        Cause.ESCAPE,
    )


def _better_route(
    a: _Auto, cur: Route, calendar: Calendar, policy: Policy, now: datetime
) -> Decision:
    """Rules 4 and 5 for a better route than the current one: failback or a schedule change,
    after the failback hold and never while flapping."""
    target, business = a.target, a.business
    cause = Cause.FAILBACK
    if (not business and target is calendar.off_hours_route) or (
        business and cur is calendar.off_hours_route and cur is not Route.PRIMARY
    ):
        cause = Cause.SCHEDULE
    since = a.health[target].since
    up_for = None if since is None else now - since
    if up_for is not None and up_for < policy.failback_hold:
        a.conds.add(Condition.FAILBACK_PENDING)
        return a.done(
            cur,
            f"{target} up for {_secs(up_for)}, moving after {_secs(policy.failback_hold)}; "
            f"staying on {cur}",
            Cause.HOLD,
        )
    if a.flapping:
        return a.done(
            cur,
            f"flapping: {a.recent} switches in the last {_secs(policy.flap_window)}; "
            f"holding {cur} instead of moving to {target}",
            Cause.HOLD,
        )
    if cause is Cause.SCHEDULE:
        when = "off-hours" if not business else "business hours"
        return a.done(target, f"{when}: schedule routes calls to {target}{a.why_not}", cause)
    held = f" for {_secs(up_for)}" if up_for is not None else ""
    return a.done(target, f"{target} healthy{held}; failing back from {cur}", cause)


def _secs(delta: timedelta) -> str:
    s = int(delta.total_seconds())
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
