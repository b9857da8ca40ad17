"""A live ``/metrics`` of a real daemon (``hotline run`` on a ZooKeeper server, the modem
emulator as its modem, the notifier sending SMS through it) exports every metric the shipped
alert rules and Grafana dashboard use, and follows the world: the modem's signal, and the
ZooKeeper session when ZooKeeper goes away."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.ha.daemon_lab import DaemonLab
from tests.metrics.live import scrape
from tests.metrics.shipped import dashboard_exprs, names_in, rule_exprs, scraped_names
from tests.support.zk_lab import ZkEnsemble


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return None


def test_a_live_scrape_has_every_metric_the_rules_and_dashboard_use(
    lab: tuple[DaemonLab, ZkEnsemble],
) -> None:
    daemons, zk = lab
    used = names_in(rule_exprs()) | names_in(dashboard_exprs())
    assert len(used) > 40

    def complete() -> str | None:
        text = scrape(daemons)
        ready = sample(text, "hotline_route_verified") == 1.0
        return text if ready and used <= scraped_names(text) else None

    def missing() -> str:
        return f"missing: {sorted(used - scraped_names(scrape(daemons)))}"

    try:
        text = daemons.wait("every metric the rules and dashboard use", complete, 60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {missing()}") from None
    assert sample(text, "hotline_may_actuate", node="node-1") == 1.0
    assert sample(text, "hotline_leader", node="node-1") == 1.0
    assert sample(text, "hotline_route", route="primary") == 1.0
    connected = {"backend": "zookeeper", "state": "connected"}
    assert sample(text, "hotline_coordination_session", **connected) == 1.0
    assert sample(text, "hotline_modem_registration", state="home") == 1.0
    assert sample(text, "hotline_component_status", component="modem", kind="modem",
                  status="up") == 1.0  # fmt: skip

    # The modem's signal drops: the next probe's +CSQ shows in the scrape.
    daemons.control({"cmd": "set_network", "rssi": 7})
    daemons.wait(
        "the weaker signal in /metrics",
        lambda: sample(scrape(daemons), "hotline_modem_signal_dbm") == -113 + 2 * 7,
        30,
    )

    # ZooKeeper goes away: the session leaves "connected" and the node may no longer act, while
    # /metrics keeps answering from the node itself.
    zk.stop()

    def cut_off() -> str | None:
        text = scrape(daemons)
        gone = sample(text, "hotline_coordination_session", **connected) == 0.0
        return text if gone and sample(text, "hotline_may_actuate", node="node-1") == 0.0 else None

    text = daemons.wait("the lost ZooKeeper session in /metrics", cut_off, 30)
    assert sample(text, "hotline_coordination_quorum") == 0.0
