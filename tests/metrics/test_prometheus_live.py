"""A real Prometheus server scrapes a real daemon: the target is up, the shipped rules load and
evaluate without error (none pending on a healthy lab, the ZooKeeper and no-node-may-act alerts
once ZooKeeper goes away), and every query of the Grafana dashboard parses and returns data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ha.daemon_lab import DaemonLab
from tests.metrics.live import PROMETHEUS, Prometheus
from tests.metrics.shipped import dashboard_exprs
from tests.support.waiting import poll
from tests.support.zk_lab import ZkEnsemble

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="the Prometheus server is not installed (Debian package prometheus)"
)


def grafana_to_promql(expr: str) -> str:
    """Grafana's variables as a dashboard would fill them: every job, a 1-minute window; a
    variable's ``label_values(metric, label)`` asks for the metric's series."""
    if expr.startswith("label_values("):
        return expr.removeprefix("label_values(").split(",")[0]
    return expr.replace('job=~"$job"', 'job=~".+"').replace("$__rate_interval", "1m")


def test_prometheus_scrapes_the_daemon_and_answers_every_dashboard_query(
    lab: tuple[DaemonLab, ZkEnsemble], tmp_path: Path
) -> None:
    daemons, zk = lab
    prom = Prometheus(tmp_path, [f"127.0.0.1:{daemons.ports['node-1']}"])
    try:
        up = 'up{job="hotline"} == 1'
        poll(
            "Prometheus scraping the daemon",
            lambda: prom.query(up)["data"]["result"],
            60,
            interval=0.2,
        )
        queries = [grafana_to_promql(e) for e in dashboard_exprs()]
        for q in queries:
            answer = prom.query(q)
            assert answer["status"] == "success", (q, answer)

        def empty() -> list[str]:
            return [q for q in queries if not prom.query(q)["data"]["result"]]

        # rates need two scrapes in their window; everything else answers at the first one
        try:
            poll("data for every dashboard query", lambda: not empty(), 30, interval=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: no data for {empty()}") from None

        def quiet() -> bool:  # evaluated on the daemon's data, and none pending nor firing
            rules = prom.rules()
            ran = all(r.get("lastEvaluation", "").startswith("2") for r in rules)
            healthy = all(r["health"] == "ok" for r in rules)
            return (
                len(rules) == 10
                and ran
                and healthy
                and all(r["state"] == "inactive" for r in rules)
            )

        try:
            poll("every shipped rule inactive on a healthy lab", quiet, 30, interval=0.5)
        except AssertionError as exc:
            loud = [(r["name"], r["health"], r["state"]) for r in prom.rules()]
            raise AssertionError(f"{exc}: {loud}") from None

        # ZooKeeper goes away: the rules match the daemon's real series (labels and all), so
        # the session and no-node-may-act alerts start (pending until their `for:` has passed).
        zk.stop()
        wanted = {"HotlineZooKeeperSessionNotConnected", "HotlineNoNodeMayAct"}

        def raised() -> bool:
            return wanted <= {r["name"] for r in prom.rules() if r["state"] != "inactive"}

        try:
            poll("the ZooKeeper and no-node-may-act alerts pending", raised, 40, interval=0.5)
        except AssertionError as exc:
            states = [(r["name"], r["state"]) for r in prom.rules()]
            raise AssertionError(f"{exc}: {states}") from None
    finally:
        prom.stop()
