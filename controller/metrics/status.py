"""The metrics of what ``/v1/status`` reports, read from the service at scrape time.

Only the ``ControllerService`` contract is used, so every service (a test's too) exports these:
the route in force and whether it was read back, the last change's outcome, the decision's
conditions, the mode (pause, override), whether this node may act, and each component's status.
Enum-like facts are one series per possible value, 1 for the current one (the Prometheus way).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import get_args

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from controller.clock import Clock, utcnow
from controller.config import Route
from controller.decide.decision import Condition
from controller.service.contract import ControllerService, Mode, StatusReport

STATUSES = ("up", "down", "unknown")


def flag(value: bool) -> float:
    return 1.0 if value else 0.0


def gauge(name: str, help_: str, value: float | None = None) -> GaugeMetricFamily:
    """An unlabelled gauge (with its one sample when ``value`` is given)."""
    return GaugeMetricFamily(name, help_, value=value)


def one_of(
    name: str, help_: str, label: str, values: Iterable[str], current: str | None
) -> GaugeMetricFamily:
    """One series per value of ``label``: 1 for ``current``, 0 for the others."""
    family = GaugeMetricFamily(name, help_, labels=[label])
    for value in values:
        family.add_metric([value], flag(value == current))
    return family


class StatusCollector:
    """Reads ``service.status()`` once per scrape."""

    def __init__(self, service: ControllerService, node: str, clock: Clock = utcnow) -> None:
        self.service, self.node, self.clock = service, node, clock

    def collect(self) -> Iterator[Metric]:
        st = self.service.status()
        yield from _route(st)
        yield from _mode(st, self.clock)
        acting = GaugeMetricFamily(
            "hotline_may_actuate",
            "1 while this node may act now: it leads, is connected to the coordination backend "
            "and its lease runs (what GET /leader answers 200 for).",
            labels=["node"],
        )
        acting.add_metric([self.node], flag(st.may_actuate))
        yield acting
        yield gauge(
            "hotline_ready",
            "1 once this node is ready (state read, first tick done): GET /readyz.",
            flag(self.service.is_ready()),
        )
        yield from _components(st)


def _route(st: StatusReport) -> Iterator[Metric]:
    routes = [str(r) for r in Route]
    active = st.active
    yield one_of(
        "hotline_route",
        "1 for the route calls are forwarded to (verified or not); all 0 while unknown.",
        "route",
        routes,
        None if active.route is None else str(active.route),
    )
    yield gauge(
        "hotline_route_verified",
        "1 when the route in force was read back from the modem after the last change.",
        flag(active.verified),
    )
    yield gauge(
        "hotline_route_failed",
        "1 when the last attempt to reach the desired route failed.",
        flag(active.failed),
    )
    yield one_of(
        "hotline_route_desired",
        "1 for the route the decision wants; all 0 before the first decision.",
        "route",
        routes,
        None if st.desired is None else str(st.desired),
    )
    now = set(st.conditions)
    family = GaugeMetricFamily(
        "hotline_condition",
        "1 for each condition of the decision in force (partial_outage, total_outage, "
        "paused_on_down_route, flapping, ...).",
        labels=["condition"],
    )
    for c in Condition:
        family.add_metric([str(c)], flag(str(c) in now))
    yield family


def _mode(st: StatusReport, clock: Clock) -> Iterator[Metric]:
    yield one_of(
        "hotline_mode",
        "1 for the controller's mode: auto, paused (by a person) or override (a manual route).",
        "mode",
        get_args(Mode),
        st.mode,
    )
    yield gauge(
        "hotline_paused",
        "1 while automatic switching is paused by a person.",
        flag(st.pause is not None),
    )
    ov = st.override
    yield one_of(
        "hotline_override_route",
        "1 for the route a manual override holds; all 0 without an override.",
        "route",
        [str(r) for r in Route],
        None if ov is None else str(ov.to),
    )
    left = 0.0 if ov is None else max((ov.expires_at - clock()).total_seconds(), 0.0)
    yield gauge(
        "hotline_override_remaining_seconds",
        "Seconds until the manual override expires; 0 without an override.",
        left,
    )


def _components(st: StatusReport) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "hotline_component_status",
        "1 for each component's status (up, down, or unknown: no verdict yet) on this node.",
        labels=["component", "kind", "status"],
    )
    for comp in st.components:
        for status in STATUSES:
            family.add_metric([comp.name, comp.kind, status], flag(comp.status == status))
    yield family
