"""``hotline probe run``'s table: a line's path is the decision's route health, not a recount.

The lines depend on ``pbx``, the PBX cluster's name, which is no component: the old table looked it
up as one and said "primary path unknown (pbx unknown)" with everything up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from controller.cli.probe_run import table
from controller.config import HotlineConfig, parse_config
from health.model import ComponentState, HealthSnapshot, Status

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

CONFIG = """
hotline:
  number: "+420601000100"
  modem: {url: "socket://127.0.0.1:1"}
lines:
  primary: {forward_to: "+420212000001", depends_on: [trunk-a, pbx]}
  secondary: {forward_to: "+420212000002", depends_on: [trunk-b, pbx]}
components:
  trunk-a: {kind: trunk, probes: [{type: tcp, host: 127.0.0.1, port: 1}]}
  trunk-b: {kind: trunk, probes: [{type: tcp, host: 127.0.0.1, port: 1}]}
  pbx-1: {kind: pbx_node, probes: [{type: tcp, host: 127.0.0.1, port: 1}]}
  pbx-2: {kind: pbx_node, probes: [{type: tcp, host: 127.0.0.1, port: 1}]}
pbx_cluster: {name: pbx, nodes: [pbx-1, pbx-2], quorum: 1}
oncall:
  technicians: [{name: alice, mobile: "+420777000001"}]
"""


def _cfg() -> HotlineConfig:
    return parse_config(CONFIG)


def _rows(statuses: dict[str, Status]) -> dict[str, list[str]]:
    snap = HealthSnapshot.of(AT, (ComponentState(n, s, AT) for n, s in statuses.items()))
    lines = table(_cfg(), snap).splitlines()[1:]
    return {line[:20].strip(): line[20:].split() for line in lines}


def test_every_component_up_makes_both_paths_up() -> None:
    rows = _rows({n: Status.UP for n in ("trunk-a", "trunk-b", "pbx-1", "pbx-2")})
    assert rows["pbx (cluster)"][0] == "up"
    assert rows["primary path"] == ["up", "all", "up"]
    assert rows["secondary path"] == ["up", "all", "up"]


def test_a_path_follows_the_cluster_quorum_not_a_component_named_pbx() -> None:
    up, down = Status.UP, Status.DOWN
    rows = _rows({"trunk-a": up, "trunk-b": down, "pbx-1": down, "pbx-2": up})
    assert rows["primary path"][0] == "up"  # one PBX node of two is the quorum
    assert rows["secondary path"][0] == "down" and "trunk-b" in " ".join(rows["secondary path"])
    rows = _rows({"trunk-a": up, "trunk-b": up, "pbx-1": down, "pbx-2": down})
    assert rows["primary path"][0] == "down"
    assert "PBX cluster" in " ".join(rows["primary path"])
