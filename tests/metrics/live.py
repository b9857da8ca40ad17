"""The live lab of tests/metrics (the ``lab`` fixture): ``hotline run`` on a ZooKeeper server,
with the modem emulator as its modem and the notifier sending SMS through it
(tests/ha/daemon_lab.py); a real Prometheus server scraping it."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.ha.daemon_lab import TOKEN, DaemonLab, child
from tests.metrics.shipped import RULES
from tests.support.zk_lab import ZkEnsemble, available, free_ports


@contextmanager
def live_lab(tmp_path: Path) -> Iterator[tuple[DaemonLab, ZkEnsemble]]:
    if not available():
        pytest.skip("ZooKeeper (Debian package zookeeper) or java is not installed")
    zk = ZkEnsemble(tmp_path / "zk", 1, tick_ms=200)
    daemons = DaemonLab(tmp_path, (), names=("node-1",), notify=True, latency_s=0.5)
    try:
        zk.start(timeout=60)
        daemons.zk_hosts = zk.hosts
        daemons.start_modem()
        daemons.start()
        yield daemons, zk
    finally:
        daemons.close()
        zk.stop()


def scrape(lab: DaemonLab) -> str:
    r = httpx.get(
        f"http://127.0.0.1:{lab.ports['node-1']}/metrics",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.text


PROMETHEUS = shutil.which("prometheus")


class Prometheus:
    """Debian's Prometheus server on loopback, scraping ``targets`` every second with the lab's
    token and evaluating the shipped rules (``deploy/prometheus/hotline.rules.yml``)."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        assert PROMETHEUS is not None
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        conf = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {
                    "job_name": "hotline",
                    "metrics_path": "/metrics",
                    "authorization": {"credentials": TOKEN},
                    "static_configs": [{"targets": targets}],
                }
            ],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(conf))
        argv = [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.proc = child(argv, tmp / "prometheus.log")

    def query(self, expr: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        answer: dict[str, Any] = r.json()
        return answer

    def rules(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/rules", timeout=5)
        groups = r.json()["data"]["groups"]
        return [rule for g in groups for rule in g["rules"]]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
