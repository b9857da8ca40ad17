"""``hotline probe``: exit 0 alive, 1 not alive (with the reason), 2 bad input."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from controller.cli import probe as cli

pytestmark = pytest.mark.slow


def hotline(argv: list[str]) -> int:
    """The `hotline` parser with only our subcommand, the way controller.cli.main.main runs it."""
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(args.func(args))


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probe_sip_alive_and_json(sipp_200: Any, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sip:127.0.0.1:{sipp_200.port};transport=udp"
    assert hotline(["probe", "sip", uri, "--timeout", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{uri}: alive (200 OK)")
    assert hotline(["probe", "sip", uri, "--count", "2", "--interval", "0.05", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["alive"] for r in lines] == [True, True] and lines[0]["reason"] == "200 OK"


def test_probe_sip_dead_with_reason(sipp_503: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert hotline(["probe", "sip", f"sip:127.0.0.1:{sipp_503.port}"]) == 1
    assert "DEAD (503 Service Unavailable)" in capsys.readouterr().out
    assert hotline(["probe", "sip", f"sip:127.0.0.1:{closed_udp_port()}"]) == 1
    assert "DEAD (ICMP port unreachable)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "sip", "http://example.org"],
        ["probe", "sip", "sip:127.0.0.1;transport=sctp"],
        ["probe", "sip", "sip:127.0.0.1", "--timeout", "0"],
        ["probe", "sip", "sip:127.0.0.1", "--count", "0"],
        ["probe", "sip", "sip:127.0.0.1", "--alive-codes", "2xx"],
        ["probe", "snmp", "127.0.0.1", "not-an-oid"],
        ["probe", "snmp", "127.0.0.1", "1.3.6.1.2.1.1.3.0", "--expect", "at_least"],
        ["probe", "snmp", "127.0.0.1", "1.3.6.1.2.1.1.3.0", "--v3-user", "bob"],
        ["probe", "run", "--config", "/nonexistent.yaml"],
        ["probe"],
    ],
)
def test_bad_input_exits_2(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_SNMP_AUTH_KEY", raising=False)
    assert hotline(argv) == 2


def test_probe_snmp(snmpd: Any, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"127.0.0.1:{snmpd.peer.port}"
    oid = "1.3.6.1.2.1.1.6.0"
    assert hotline(["probe", "snmp", target, oid, "--community", snmpd.community]) == 0
    assert "alive (SNMP ok (hotline-lab))" in capsys.readouterr().out
    argv = ["probe", "snmp", target, oid, "--v3-user", snmpd.user, "--json"]
    env_ok = {"HOTLINE_SNMP_AUTH_KEY": snmpd.auth, "HOTLINE_SNMP_PRIV_KEY": snmpd.priv}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env_ok.items():
            mp.setenv(k, v)
        assert hotline(argv) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["alive"] is True and snmpd.auth not in out and snmpd.priv not in out
    missing = ["probe", "snmp", target, "1.3.6.1.2.1.1.99.0", "--community", snmpd.community]
    assert hotline(missing) == 1
    assert "SNMP noSuchObject" in capsys.readouterr().out


CONFIG = """
hotline:
  number: "+420601000100"
  modem: {{url: "socket://127.0.0.1:1"}}
lines:
  primary: {{forward_to: "+420212000001", depends_on: [trunk-a, pbx]}}
  secondary: {{forward_to: "+420212000002", depends_on: [trunk-b, pbx]}}
components:
  trunk-a:
    kind: trunk
    probes: [{{type: sip, uri: "sip:127.0.0.1:{up}"}}]
    interval_s: 0.5
    timeout_s: 0.3
  trunk-b:
    kind: trunk
    probes: [{{type: sip, uri: "sip:127.0.0.1:{down}"}}]
    interval_s: 0.5
    timeout_s: 0.3
  pbx-1:
    kind: pbx_node
    probes: [{{type: sip, uri: "sip:127.0.0.1:{up}"}}]
    interval_s: 0.5
    timeout_s: 0.3
pbx_cluster: {{name: pbx, nodes: [pbx-1], quorum: 1}}
oncall:
  technicians: [{{name: alice, mobile: "+420777000001"}}]
"""


def test_probe_run_once(sipp_200: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(CONFIG.format(up=sipp_200.port, down=closed_udp_port()))
    assert hotline(["probe", "run", "--config", str(cfg), "--once"]) == 1  # trunk-b is down
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["trunk-a"].split()[1] == "up" and rows["pbx-1"].split()[1] == "up"
    assert rows["trunk-b"].split()[1] == "down" and "ICMP port unreachable" in rows["trunk-b"]
    assert "primary path" in out and "secondary path" in out
    assert rows["primary"].split()[2] == "up"  # trunk-a and the cluster (pbx-1) are up
    assert rows["secondary"].split()[2] == "down"  # trunk-b is down
    assert hotline(["probe", "run", "--config", str(cfg), "--once", "--json"]) == 1
    states = json.loads(capsys.readouterr().out)
    assert states["trunk-a"]["status"] == "up" and states["trunk-b"]["status"] == "down"


def test_probe_run_live_table(sipp_200: Any, tmp_path: Path, capsys: Any) -> None:
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(CONFIG.format(up=sipp_200.port, down=closed_udp_port()))
    assert hotline(["probe", "run", "--config", str(cfg), "--duration", "2.2"]) == 0
    tables = capsys.readouterr().out.strip().split("\n\n")
    assert len(tables) == 3 and all(t.startswith("COMPONENT") for t in tables)
    assert "trunk-a" in tables[-1] and " up " in tables[-1].splitlines()[1]
