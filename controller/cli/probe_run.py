"""``hotline probe run``: every configured probe, as a table of component and path states."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from controller.config import HotlineConfig, Route
from controller.decide.decision import Topology, route_health
from health.model import HealthSnapshot, Status, at_least
from health.monitor import HealthMonitor

_REFRESH_S = 1.0


def table(cfg: HotlineConfig, snap: HealthSnapshot) -> str:
    """The components, the PBX cluster and both lines' paths, one row each.

    A line's path is the decision's own route health (``route_health``): its components and the
    PBX cluster by quorum, the cluster's name not being a component of its own.
    """
    rows = [f"{'COMPONENT':<20} {'STATUS':<8} {'SINCE':<20} {'P50 ms':>7}  REASON"]
    for name in cfg.components:
        s = snap.get(name)
        since = s.since.strftime("%Y-%m-%d %H:%M:%S") if s.since else "-"
        p50 = f"{s.latency_p50_ms:.1f}" if s.latency_p50_ms is not None else "-"
        rows.append(f"{name:<20} {s.status:<8} {since:<20} {p50:>7}  {s.reason}")
    c = cfg.pbx_cluster
    agg = at_least(snap, c.nodes, c.quorum)
    rows.append(f"{c.name + ' (cluster)':<20} {agg.status:<8} {'':<20} {'':>7}  {agg.detail}")
    health = route_health(snap, Topology.from_config(cfg))
    for route in (Route.PRIMARY, Route.SECONDARY):
        path = health[route]
        rows.append(f"{route + ' path':<20} {path.status:<8} {'':<20} {'':>7}  {path.detail}")
    return "\n".join(rows)


def _as_json(snap: HealthSnapshot) -> str:
    return json.dumps(
        {
            name: {
                "status": str(s.status),
                "since": s.since.isoformat() if s.since else None,
                "reason": s.reason,
                "latency_p50_ms": s.latency_p50_ms,
                "samples": s.samples,
            }
            for name, s in snap.components.items()
        },
        indent=2,
    )


async def run_configured(
    cfg: HotlineConfig, *, once: bool, duration: float | None, as_json: bool
) -> int:
    monitor = HealthMonitor(cfg.components)
    try:
        if once:
            return await _once(cfg, monitor, as_json)
        await monitor.start()
        deadline = time.monotonic() + duration if duration is not None else float("inf")
        while True:
            await asyncio.sleep(max(0.0, min(_REFRESH_S, deadline - time.monotonic())))
            clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
            print(clear + table(cfg, monitor.snapshot()) + "\n", flush=True)
            if time.monotonic() >= deadline:
                return 0
    finally:
        await monitor.stop()


async def _once(cfg: HotlineConfig, monitor: HealthMonitor, as_json: bool) -> int:
    """Probe every component until it has a verdict (at most max rise/fall rounds)."""
    rounds = max(max(c.rise, c.fall) for c in cfg.components.values())
    snap = monitor.snapshot()
    for _ in range(rounds):
        snap = await monitor.probe_now()
        pending = [s for s in snap.components.values() if s.status is Status.UNKNOWN and s.samples]
        if not pending:
            break
    print(_as_json(snap) if as_json else table(cfg, snap))
    up = all(s.status is Status.UP for s in snap.components.values())
    return 0 if up else 1
