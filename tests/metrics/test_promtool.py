"""The shipped alert rules pass ``promtool check rules`` and their unit tests
(``promtool test rules deploy/prometheus/tests.yml``), and the dashboard is well-formed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.metrics.shipped import DASHBOARD, RULE_TESTS, RULES, dashboard_exprs, rule_exprs

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package prometheus)"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=RULES.parent
    )


@needs_promtool
def test_promtool_checks_the_rules() -> None:
    done = _promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 10 rules found" in done.stdout


@needs_promtool
def test_promtool_runs_the_rule_unit_tests() -> None:
    done = _promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_promtool
def test_a_broken_expectation_fails_promtool(tmp_path) -> None:  # the unit tests can fail
    broken = RULE_TESTS.read_text().replace(
        "eval_time: 7m\n        alertname: HotlineNoNodeMayAct",
        "eval_time: 30s\n        alertname: HotlineNoNodeMayAct",
        1,
    )
    assert broken != RULE_TESTS.read_text()
    (tmp_path / "hotline.rules.yml").write_text(RULES.read_text())
    (tmp_path / "tests.yml").write_text(broken)
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", "tests.yml"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0 and "FAILED" in done.stdout + done.stderr


def test_every_alert_the_issue_asks_for_is_shipped() -> None:
    exprs = " ".join(rule_exprs())
    for needle in (
        "hotline_may_actuate",  # no node may act
        "hotline_route_verified",  # route not verified
        'condition="paused_on_down_route"',  # paused on a dead route
        'kind="modem"',  # modem unhealthy
        "hotline_notifier_outbox_oldest_age_seconds",  # outbox not draining
        "hotline_component_last_sample_age_seconds",  # probes stale
        'backend="zookeeper",state="connected"',  # ZooKeeper session not connected
    ):
        assert needle in exprs, needle


def test_the_dashboard_is_grafana_json_on_a_datasource_variable() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "hotline-failover" and dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
    assert len(dashboard_exprs()) > 30
