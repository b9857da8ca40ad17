"""``hotline modem`` / ``hotline modem-sim`` end to end: the emulator runs as its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.cli.modem import main

REASONS = ["unconditional", "busy", "no-reply", "not-reachable"]
CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy; hotline výpadek — volejte technika! "
CZECH_300 = (CZECH * 5)[:300]
ROOT = Path(__file__).resolve().parents[2]


class Sim:
    def __init__(self, proc: subprocess.Popen[str], port: int, control: int, state: Path) -> None:
        self.proc, self.port, self.control, self.state_file = proc, port, control, state
        self.url = f"socket://127.0.0.1:{port}"

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control), timeout=5) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            return dict(json.loads(s.makefile(encoding="utf-8").readline()))


def start_sim(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Sim:
    state = tmp_path / "state.json"
    cmd = [sys.executable, "-m", "controller.cli.modem", "modem-sim", "--listen", "127.0.0.1:0"]
    cmd += ["--control", "127.0.0.1:0", "--state-file", str(state), "--latency", "0.01", *extra]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    assert proc.stdout is not None
    port = control = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (port and control):
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on socket://" in line:
            port = int(line.rsplit(":", 1)[1])
        elif "control on" in line:
            control = int(line.rsplit(":", 1)[1])
    if not (port and control):
        proc.kill()
        raise RuntimeError("modem-sim did not start")
    return Sim(proc, port, control, state)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    s = start_sim(tmp_path)
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=10)
    assert s.proc.stdout is not None
    s.proc.stdout.close()


def modem(sim: Sim, *args: str) -> list[str]:
    timeouts = ["--timeout", "3", "--network-timeout", "5", "--retry-delays", "0.05,0.05"]
    return ["modem", "--port", sim.url, *timeouts, *args]


@pytest.mark.parametrize("reason", REASONS)
def test_forward_set_get_clear_round_trip(
    sim: Sim, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(modem(sim, "forward", "set", "+420212000001", "--reason", reason)) == 0
    assert "verified" in capsys.readouterr().out
    assert main(modem(sim, "forward", "get", "--reason", reason, "--json")) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == {"reason": reason, "active": True, "number": "+420212000001"}
    fw = sim.ask({"cmd": "get_state"})["state"]["forwarding"][reason]
    assert fw["active"] and fw["number"] == "+420212000001"
    assert main(modem(sim, "forward", "clear", "--reason", reason)) == 0
    capsys.readouterr()
    assert main(modem(sim, "forward", "get", "--reason", reason, "--json")) == 0
    assert json.loads(capsys.readouterr().out) == {
        "reason": reason,
        "active": False,
        "number": None,
    }
    assert json.loads(sim.state_file.read_text())["forwarding"][reason]["active"] is False


def test_sms_send_czech_300(sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(modem(sim, "sms", "send", "+420601000111", CZECH_300)) == 0
    assert "5 part(s)" in capsys.readouterr().out
    [msg] = sim.ask({"cmd": "get_state"})["state"]["outbox"]
    assert (msg["to"], msg["text"], msg["parts"]) == ("+420601000111", CZECH_300, 5)


def test_info_json(sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(modem(sim, "info", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["info"]["imei"] == "356938035643809" and out["status"]["registered"] is True


@pytest.mark.parametrize(
    "args",
    [
        ["forward", "set", "+420;+CFUN=0"],
        ["forward", "set", "420212000001"],
        ["forward", "get", "--reason", "all"],
        ["sms", "send", "+420601000111;", "hi"],
        ["sms", "send", "+420601000111", "\x1a\x1b"],
    ],
)
def test_bad_input_exits_2_and_sends_nothing(
    sim: Sim, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(sim.ask({"cmd": "transcript", "last": 1000})["transcript"])
    assert main(modem(sim, *args)) == 2
    assert len(sim.ask({"cmd": "transcript", "last": 1000})["transcript"]) == before


def test_refusals_exit_1_with_the_reason(sim: Sim, capsys: pytest.CaptureFixture[str]) -> None:
    sim.ask({"cmd": "set_fault", "faults": {"ccfc_ignored": True}})
    assert main(modem(sim, "forward", "set", "+420212000001")) == 1
    assert "network shows not active" in capsys.readouterr().err
    sim.ask({"cmd": "set_fault", "faults": {"ccfc_ignored": False, "no_network": True}})
    assert main(modem(sim, "forward", "get")) == 1
    assert "no network service" in capsys.readouterr().err


def test_drift_injected_over_the_control_port_is_seen(
    sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.ask({"cmd": "set_forwarding", "reason": "unconditional", "number": "+420999000111"})
    assert main(modem(sim, "forward", "get", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["number"] == "+420999000111"


def test_pin_from_environment_never_printed_never_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = start_sim(tmp_path, "--pin-env", "SIM_PIN_FOR_SIM", env={"SIM_PIN_FOR_SIM": "4321"})
    try:
        monkeypatch.setenv("HOTLINE_SIM_PIN", "1111")
        assert main(modem(sim, "-v", "info")) == 1
        out = capsys.readouterr()
        assert "not retrying" in out.err and "1111" not in out.out + out.err
        sent = sim.ask({"cmd": "transcript", "last": 1000})["transcript"]
        assert sum("AT+CPIN=" in row["data"] for row in sent if row["dir"] == "<") == 1
        monkeypatch.setenv("HOTLINE_SIM_PIN", "4321")
        assert main(modem(sim, "-v", "info")) == 0
        out = capsys.readouterr()
        assert "4321" not in out.out + out.err
    finally:
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
        assert sim.proc.stdout is not None
        sim.proc.stdout.close()


def test_hotline_entry_point_lists_modem_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli.main", "modem", "forward", "get", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and "--reason" in result.stdout


def test_modem_sim_on_a_pty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = tmp_path / "ttyHOTLINE"
    sim = start_sim(tmp_path, "--pty", str(link))
    try:
        for _ in range(100):  # the pty line is printed after the TCP one
            if link.exists():
                break
            time.sleep(0.05)
        args = ["modem", "--port", str(link), "--retry-delays", ""]
        assert main([*args, "forward", "set", "+420601000111", "--reason", "busy"]) == 0
        fw = sim.ask({"cmd": "get_state"})["state"]["forwarding"]["busy"]
        assert fw == {**fw, "active": True, "number": "+420601000111"}
    finally:
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
        assert sim.proc.stdout is not None
        sim.proc.stdout.close()


def test_modem_sim_help_lists_the_profiles() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli.main", "modem-sim", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    flat = " ".join(result.stdout.split())
    for name, stands_for in [
        ("standard", "3GPP TS 27.007"), ("simcom", "SIM800"), ("quectel", "EC25"),
        ("huawei", "E3372"), ("ublox", "SARA-U201"),
    ]:  # fmt: skip
        assert f"{name} (" in flat and stands_for in flat


def test_modem_sim_profile_speaks_its_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = start_sim(tmp_path, "--profile", "huawei")
    try:
        assert main(["modem", "--port", sim.url, "--retry-delays", "", "info", "--json"]) == 0
        info = json.loads(capsys.readouterr().out)["info"]
        assert (info["manufacturer"], info["model"]) == ("huawei", "E3372")
        args = ["modem", "--port", sim.url, "--retry-delays", "", "forward", "set", "+420601000111"]
        assert main(args) == 0  # no +CCFC on this modem: done with **21*...# and verified
    finally:
        sim.proc.terminate()
        sim.proc.wait(timeout=10)
        assert sim.proc.stdout is not None
        sim.proc.stdout.close()
