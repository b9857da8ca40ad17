"""The operators' CLI against a real daemon: the demo lab (`hotline demo --free-ports`, the
controller with its notifier, call log, emulated modem and SMTP sink) in a child process whose
wall clock is pinned to the suite's instant (bob's week of the lab rotation).

status as a check command (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), incidents and ack by id and by
the SMS's code, an ACK answered by SMS as the technician, missed calls and callbacks, topology,
handover, the 422 and refusal sentences, and no traceback when the reader closes the pipe.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from controller.cli.main import main
from tests.controller.e2e_lab import _PINNED

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = "lab-operator-token-001"
ADMIN = "lab-admin-token-000001"
VIEWER = "lab-viewer-token-0001"
AT = "2026-06-17T10:00:00+00:00"  # tests/conftest.py's PINNED_NOW: bob is on call
BOB = "+420777000002"

pytestmark = pytest.mark.slow


@dataclass
class Demo:
    url: str
    state: Path
    proc: subprocess.Popen[str]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in ("HOTLINE_URL", "HOTLINE_TOKEN", "HOTLINE_TOKEN_FILE", "HOTLINE_CA"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    data["failover"]["flap_max_switches"] = 100  # these tests switch often, on purpose
    config = tmp_path_factory.mktemp("cli-ops") / "lab.yaml"
    config.write_text(yaml.safe_dump(data))
    proc = subprocess.Popen(
        [sys.executable, "-c", _PINNED, AT, "demo", "--free-ports", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
    )
    assert proc.stdout is not None
    url = state = None
    for _ in range(30):
        line = proc.stdout.readline()
        if m := re.search(r"dashboard\s+(http://\S+)/dashboard", line):
            url = m.group(1)
        if m := re.search(r"state\s+(\S+) \(kept", line):
            state = Path(m.group(1))
        if url and state:
            break
    assert url and state, "the demo printed no dashboard URL or state dir"
    lab = Demo(url, state, proc)
    try:
        yield lab
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        tail = proc.stdout.read()
        proc.stdout.close()
        kept = (state / "events.db").exists()
        shutil.rmtree(state, ignore_errors=True)
    assert code == 0, tail
    assert f"kept in {state}" in tail and kept  # the lab's events outlive it (#15.5)


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(demo: Demo, capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str, token: str | None = OPERATOR) -> tuple[int, str, str]:
        args = [*argv, "--url", demo.url, "--timeout", "30"]
        if token is not None:
            args += ["--token", token]
        code = main(args)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _demo(demo: Demo, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["demo", *argv, "--url", demo.url])
    out = capsys.readouterr()
    return code, out.out + out.err


def _until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}: {LAST[:1]}")


LAST: list[str] = []


def _status_is(cli: Run, code: int, first: str) -> Callable[[], bool]:
    def check() -> bool:
        got, out, _ = cli("status", token=VIEWER)
        LAST[:] = [f"exit {got}: {out}"]
        return got == code and out.startswith(first)

    return check


def test_status_is_a_check_command(
    demo: Demo, cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    _until("OK", _status_is(cli, 0, "HOTLINE OK: calls take the primary route, verified"))
    assert _demo(demo, capsys, "break", "trunk-a")[0] == 0
    _until("WARNING on secondary", _status_is(cli, 1, "HOTLINE WARNING: calls take the secondary"))
    assert _demo(demo, capsys, "break", "pbx")[0] == 0
    _until("CRITICAL", _status_is(cli, 2, "HOTLINE CRITICAL: total outage"))
    code, out, _ = cli("status", token=VIEWER)
    assert code == 2 and "conditions TOTAL OUTAGE (no line up)" in out and "None" not in out
    for name in ("pbx", "trunk-a"):
        assert _demo(demo, capsys, "restore", name)[0] == 0
    _until("OK again", _status_is(cli, 0, "HOTLINE OK"), 40)
    assert cli("pause", "--reason", "PBX upgrade")[0] == 0
    _until("WARNING paused", _status_is(cli, 1, "HOTLINE WARNING: paused"))
    assert cli("resume", "--reason", "upgrade done")[0] == 0
    _until("OK after resume", _status_is(cli, 0, "HOTLINE OK"))
    # Unknown: nobody answers (3), and a bad token is not a verdict either.
    assert main(["status", "--url", "http://127.0.0.1:9", "--timeout", "2"]) == 3
    assert cli("status", token="not-a-lab-token-at-all")[0] == 3


def _open_incident(cli: Run) -> int:
    found: list[int] = []

    def check() -> bool:
        _, out, _ = cli("incidents", "--open", token=VIEWER)
        found[:] = [int(n) for n in re.findall(r"^#([0-9]+) open", out, re.M)]
        return bool(found)

    _until("an open incident", check)
    return found[-1]


def _sms_to_bob(demo: Demo, capsys: pytest.CaptureFixture[str], pattern: str) -> str:
    found: list[str] = []

    def check() -> bool:
        _, out = _demo(demo, capsys, "outbox")
        found[:] = re.findall(rf"to {re.escape(BOB)}:\n    (.*{pattern}.*)", out)
        return bool(found)

    _until(f"an SMS to bob matching {pattern!r}", check)
    return found[-1]


def test_ack_by_code_and_by_sms(demo: Demo, cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    _until("OK", _status_is(cli, 0, "HOTLINE OK"))
    assert _demo(demo, capsys, "break", "pbx")[0] == 0
    first = _open_incident(cli)
    sms = _sms_to_bob(demo, capsys, f"#{first}:")
    code = re.search(r"Reply ACK ([A-Z0-9]{6})", sms)
    assert code, sms
    assert cli("ack", "ZZZZZZ") == (1, "", "no open incident has the code ZZZZZZ\n")
    assert cli("ack", "no such!")[0] == 2
    done, out, _ = cli("ack", code.group(1).lower())
    assert done == 0 and out == f"#{first} acknowledged by lab-operator; reminders stop\n"
    _, out, _ = cli("incidents", token=VIEWER)
    assert f"#{first} open" in out and "acknowledged by lab-operator" in out
    assert _demo(demo, capsys, "restore", "pbx")[0] == 0
    _until("resolved", lambda: f"#{first} resolved" in cli("incidents", token=VIEWER)[1])
    assert cli("ack", str(first)) == (1, "", "HTTP 409: the incident is resolved\n")

    # The technician answers by SMS: the emulated modem receives it, the notifier acts on it.
    assert _demo(demo, capsys, "break", "pbx")[0] == 0
    second = _open_incident(cli)
    assert second != first
    sent, out = _demo(demo, capsys, "sms-reply", "ACK")
    assert sent == 0 and f"SMS from bob ({BOB}) delivered" in out
    _sms_to_bob(demo, capsys, f"#{second} ")  # the reply: "#2 acknowledged ..."
    _, out, _ = cli("incidents", "--open", token=VIEWER)
    assert f"#{second} open" in out and "acknowledged by bob" in out
    assert _demo(demo, capsys, "sms-reply", "ACK", "--from", "nobody")[0] == 2
    code_mail, mail = _demo(demo, capsys, "mail")
    assert code_mail == 0 and f"#{second} opened" in mail and "to bob@example.org" in mail
    assert _demo(demo, capsys, "restore", "pbx")[0] == 0


def test_missed_call_and_callbacks(
    demo: Demo, cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _demo(demo, capsys, "call", "--missed", "--caller", "+420603000777")
    assert code == 0, out
    number = re.search(r"callback #([0-9]+)", out)
    assert number, out
    ident = number.group(1)
    _, out, _ = cli("callbacks", token=VIEWER)
    assert re.search(rf"^#{ident} \+420603000777 +missed .* to call back$", out, re.M), out
    assert _demo(demo, capsys, "call", "--missed", "--caller", "withheld")[0] == 0
    assert "withheld or unknown number" in cli("callbacks", token=VIEWER)[1]
    spoof = "\u202e999000106024+"  # issue 16.2: shows as +420601000999 if printed raw
    assert _demo(demo, capsys, "call", "--missed", "--caller", spoof)[0] == 0
    listed = cli("callbacks", token=VIEWER)[1]
    assert "\u202e" not in listed and "999000106024" not in listed
    assert _demo(demo, capsys, "call")[1] == "answered call recorded (new)\n"
    assert cli("callbacks", "--done", ident, token=VIEWER)[0] == 1  # a viewer may not
    done, out, _ = cli("callbacks", "--done", ident, "--note", "rang back, sorted")
    assert done == 0 and "called back by lab-operator" in out and "(rang back, sorted)" in out
    assert f"#{ident} +420603000777" not in cli("callbacks", token=VIEWER)[1]
    assert f"#{ident} +420603000777" in cli("callbacks", "--all", token=VIEWER)[1]
    assert cli("callbacks", "--done", "999999")[:2] == (1, "")


def test_topology_and_handover(cli: Run) -> None:
    code, out, _ = cli("topology", token=VIEWER)
    assert code == 0
    assert out.splitlines()[:3] == [
        "hotline +420601000100 (as configured on lab-1)",
        "  primary    → +420212000001  needs trunk-a, pbx",
        "  secondary  → +420212000002  needs trunk-b, pbx",
    ]
    code, _, err = cli("handover")
    assert code == 1 and err.startswith("HTTP 403: ")
    code, out, _ = cli("handover", token=ADMIN)  # one node: nobody can take over
    assert code == 1 and out.endswith(": no other node took over; this node still leads\n")
    code, _, err = cli("handover", "--to", "lab-9", token=ADMIN)
    assert code == 2 and "--to lab-9: not a live member of the cluster (members: lab-1)" in err
    assert cli("handover", "--to", "lab-1", token=ADMIN)[:2] == (
        0,
        "lab-1 leads already; nothing to hand over\n",
    )


def test_errors_are_sentences(demo: Demo, cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("failover", "--to", "secondary", "--reason", "x", "--ttl", "30d")
    assert code == 2 and err == "HTTP 422: --ttl: must be at most 7 days (604800 s)\n"
    code, _, err = cli("events", "--since", "yesterday")
    assert code == 2 and err.startswith("HTTP 422: --since: not an ISO 8601 date-time")
    code, _, err = cli("events", "--limit", "0")
    assert code == 2 and err == "HTTP 422: --limit: must be at least 1\n"
    # A refused override speaks of the CLI's flag.
    _until("OK", _status_is(cli, 0, "HOTLINE OK"))
    assert _demo(demo, capsys, "break", "trunk-b")[0] == 0
    _until("trunk-b down", lambda: "trunk-b          trunk     down" in cli("status")[1])
    code, out, _ = cli("failover", "--to", "secondary", "--reason", "try", "--ttl", "5m")
    assert code == 1 and out.startswith("refused: ") and "add --force to insist" in out, out
    assert "set force" not in out
    assert _demo(demo, capsys, "restore", "trunk-b")[0] == 0
    code, out, _ = cli("events", "--limit", "200", token=VIEWER)
    assert code == 0 and "None" not in out and "→none" not in out
    for argv in (["pause"], ["failback"], ["resume"]):
        assert main([*argv, "--url", demo.url]) == 2  # --reason is required
        assert "the following arguments are required: --reason" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--token", VIEWER],
        ["events", "--token", VIEWER, "--limit", "200"],
        ["incidents", "--token", VIEWER],
        ["demo", "outbox"],
        ["config", "check", str(ROOT / "examples" / "lab.yaml")],
        ["status", "--help"],
    ],
)
def test_a_closed_pipe_ends_quietly(demo: Demo, argv: list[str]) -> None:
    """``hotline status | head -1`` once ended in a BrokenPipeError traceback: here the reader is
    gone before the first byte, so every write fails."""
    if argv[0] != "config" and "--help" not in argv:
        argv = [*argv, "--url", demo.url]
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "controller", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_env(),
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode in (0, 141)  # argparse's --help swallows EPIPE itself


def test_a_token_with_control_bytes_is_never_sent_nor_shown(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "lab-operator-token-001"
    for env, code in (
        ({"HOTLINE_TOKEN": secret + "\r"}, 2),
        ({"HOTLINE_TOKEN": secret + "\x1b[2J"}, 2),
        ({"HOTLINE_TOKEN": "\u202e" + secret}, 2),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "controller", "status", "--url", demo.url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=_env() | env,
            timeout=60,
        )
        assert done.returncode == code
        assert secret not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "was not sent" in done.stderr
    crlf = tmp_path / "token"
    crlf.write_bytes(secret.encode() + b"\r\n")  # a token file written on Windows
    assert main(["failback", "--reason", "x", "--url", demo.url, "--token-file", str(crlf)]) == 0
    crlf.write_bytes(secret.encode() + b"\r\r\n")
    assert main(["status", "--url", demo.url, "--token-file", str(crlf)]) == 2
    out = capsys.readouterr()
    assert secret not in out.out + out.err and "carriage return" in out.err


@pytest.mark.parametrize(
    "argv",
    [
        ["ack", "\x00\x1b[2J"],
        ["ack", "9" * 30],
        ["callbacks", "--done", "-1"],
        ["events", "--limit", "abc"],
        ["events", "--since", "2026-13-45T99:99"],
        ["status", "--timeout", "nan"],
        ["status", "--timeout", "inf"],
        ["failover", "--to", "primary", "--reason", "\x1b[31mred\u202e"],
        ["failover", "--to", "primary", "--reason", "x" * 600],
        ["pause", "--reason", "x", "--ttl", "99999999999d"],
        ["demo", "break", "\x00"],
        ["demo", "sms-reply", "x" * 700],
        ["demo", "sms-reply", "ACK", "--from", "+1"],
        ["demo", "call", "--caller", "\u202e999000106024+"],
        ["incidents", "--limit", "100000"],
    ],
)
def test_hostile_arguments_get_a_sentence(
    demo: Demo, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--url", demo.url] + ([] if argv[0] == "demo" else ["--token", OPERATOR])
    code = main([*argv, *extra])
    out = capsys.readouterr()
    assert code in (0, 1, 2), (code, out)
    assert "unexpected error" not in out.err and "Traceback" not in out.err
    if code:
        assert out.err.strip(), "a failure without a word"
