"""Prometheus text exposition of the reconcile loop's counters (hand-written: a few families do
not justify a dependency)."""

from __future__ import annotations

from collections.abc import Callable

from controller.config import HotlineConfig, Route
from controller.loop.reconcile import Reconciler


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


Family = Callable[[str, str, str, list[tuple[str, float]]], None]


def render(loop: Reconciler, cfg: HotlineConfig) -> str:
    out: list[str] = []

    def family(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    _counters(loop, family)
    _gauges(loop, cfg, family)
    return "\n".join(out) + "\n"


def _counters(loop: Reconciler, family: Family) -> None:
    c = loop.counters
    family("hotline_reconcile_ticks_total", "counter", "Reconcile loop ticks.", [("", c.ticks)])
    family(
        "hotline_decisions_total",
        "counter",
        "Decisions by cause.",
        [(f'{{cause="{_esc(k)}"}}', v) for k, v in sorted(c.decisions.items())],
    )
    family(
        "hotline_switches_total",
        "counter",
        "Verified route changes by route reached.",
        [(f'{{route="{r}"}}', c.switches.get(str(r), 0)) for r in Route],
    )
    family(
        "hotline_switch_failures_total",
        "counter",
        "Route changes that failed.",
        [("", c.switch_failures)],
    )
    family(
        "hotline_drift_total", "counter", "Drift found by the periodic read-back.", [("", c.drifts)]
    )
    family(
        "hotline_actuations_total",
        "counter",
        "Actuator steps by outcome.",
        [(f'{{actuator="{_esc(a)}",outcome="{o}"}}', v) for (a, o), v in sorted(c.steps.items())],
    )
    family(
        "hotline_actuation_seconds_total",
        "counter",
        "Time spent in actuator steps.",
        [(f'{{actuator="{_esc(a)}"}}', v) for a, v in sorted(c.step_seconds.items())],
    )


def _gauges(loop: Reconciler, cfg: HotlineConfig, family: Family) -> None:
    c, rec = loop.counters, loop.cache.route
    if c.last_switch_seconds is not None:
        family(
            "hotline_last_switch_seconds",
            "gauge",
            "Duration of the last verified switch.",
            [("", c.last_switch_seconds)],
        )
    family(
        "hotline_route",
        "gauge",
        "1 for the route in force (verified or not).",
        [(f'{{route="{r}"}}', 1.0 if rec.route is r else 0.0) for r in Route],
    )
    family(
        "hotline_route_verified",
        "gauge",
        "1 when the route in force was read back.",
        [("", 1.0 if rec.verified and loop.cache.change is None else 0.0)],
    )
    family(
        "hotline_route_failed",
        "gauge",
        "1 when the last change failed.",
        [("", 1.0 if rec.failed else 0.0)],
    )
    family(
        "hotline_leader",
        "gauge",
        "1 on the node allowed to actuate.",
        [(f'{{node="{_esc(cfg.node.name)}"}}', 1.0 if loop.coord.is_leader() else 0.0)],
    )
