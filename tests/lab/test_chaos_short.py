"""The chaos lab's short run (issue #18): a fixed seed, a few minutes, every peer real.

lab.runner.ChaosLab starts a 3-server ZooKeeper ensemble, Kamailio trunks behind impairment
relays, sipp PBX nodes, the emulator behind real ser2net at 0.5 s per network operation,
aiosmtpd, a local Twilio and three ``hotline run`` nodes, places a call every 2 s and plays a
seeded schedule of faults. The oracle (lab.oracle) judges from the emulator's and ZooKeeper's
records: the run fails on any safety violation (a forwarding write from a node ZooKeeper did not
make leader, two writers at once, a verified route the modem did not hold) or any call that was
not reached although some path was up and the last fault was longer ago than fall × interval +
timeout + actuation. Figures (failover times, alert latency, cost) are the long run's
(benchmarks/chaos.py), not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import oracle
from lab.runner import ChaosLab, LabSettings, missing_tools, raw_json
from tests.support.zk_lab import available

# The lab's peers stamp their records with the real wall clock (emulator, ZooKeeper, relays).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(330), pytest.mark.wall_clock]

SHORT_KINDS = (
    "trunk_down",
    "leader_sigkill",
    "leader_sigstop",
    "flapping_trunk",
    "pbx_node_down",
    "pbx_cluster_down",  # a total outage: only the forward to the on-call mobile reaches someone
    "modem_disconnect",
    "zk_server_down",
    "manual_failovers",
)


def test_short_chaos_run_is_safe_and_callers_reach_someone(tmp_path: Path) -> None:
    if missing_tools() or not available():
        pytest.skip(f"the lab needs {missing_tools() or ['ZooKeeper']} (scripts/apt-packages.txt)")
    settings = LabSettings(seed=18, total_s=200, gap_s=12, kinds=SHORT_KINDS)
    data = ChaosLab(tmp_path / "lab", settings).run()
    verdict = oracle.judge(data)
    (tmp_path / "raw.json").write_text(json.dumps(raw_json(data)))
    (tmp_path / "verdict.json").write_text(json.dumps(verdict, indent=1))
    played = {f["kind"] for f in verdict["faults"]}
    assert len(played) >= 6, verdict["faults"]  # the schedule really ran
    assert verdict["reachability"]["placed"] >= 60, verdict["reachability"]
    assert verdict["safety"]["writes"] >= 2, "the trunk outage moved the route and back"
    assert verdict["safety"]["violations"] == [], verdict["safety"]
    outside = verdict["reachability"]["unreached_outside_windows"]
    assert outside == [], (outside, verdict["faults"], data.notes)
