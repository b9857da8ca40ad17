"""The demo lab: the OPTIONS responder's pure reply, the scripted scenario end to end (as the
README's run command does it), and break/restore of a running demo from another process."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from controller.demo.lab import LAB_YAML, lab_config
from controller.demo.sip import reply_to

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = (
    b"OPTIONS sip:trunk-a.invalid SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-1;rport\r\n"
    b"f: <sip:probe@invalid>;tag=abc\r\n"
    b"To: <sip:trunk-a.invalid>\r\n"
    b"Call-ID: 42@probe\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_options_reply_copies_the_dialog_headers_and_tags_to() -> None:
    out = reply_to(OPTIONS, 200)
    assert out is not None
    text = out.decode()
    assert text.startswith("SIP/2.0 200 OK\r\n")
    assert "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-1;rport\r\n" in text
    assert "From: <sip:probe@invalid>;tag=abc\r\n" in text
    assert re.search(r"To: <sip:trunk-a\.invalid>;tag=[0-9a-f]{8}\r\n", text)
    assert "Call-ID: 42@probe\r\nCSeq: 1 OPTIONS\r\n" in text


@pytest.mark.parametrize(
    "data",
    [
        b"INVITE sip:x SIP/2.0\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",
        OPTIONS.replace(b"Call-ID: 42@probe\r\n", b""),
        b"\xff\xfe",
    ],
)
def test_anything_but_a_complete_options_gets_no_reply(data: bytes) -> None:
    assert reply_to(data) is None


def _ports(text: str) -> set[int]:
    found = re.findall(r"127\.0\.0\.1:([0-9]+)", text) + re.findall(r"\bport\W+([0-9]+)", text)
    return {int(p) for p in found}


def test_free_ports_replace_every_port_of_the_lab_config() -> None:
    """The demo's fixed ports are only for a demo started without --free-ports (the tests' way)."""
    fixed = _ports(LAB_YAML.read_text(encoding="utf-8"))
    assert {17001, 18080, 17025, 15061, 15062, 15071, 15072} <= fixed
    cfg = lab_config(free_ports=True)
    assert cfg.notifier.smtp is not None
    now = _ports(cfg.model_dump_json()) | {cfg.notifier.smtp.port}
    assert len(now) >= 7 and not now & fixed


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


@pytest.mark.slow
def test_demo_script_passes_and_prints_the_timeline() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "controller", "demo", "--script", "--free-ports"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_env(),
    )
    took = time.monotonic() - started
    kept = re.search(r"kept in (\S+)$", done.stdout, re.M)
    if kept:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert kept, "the demo did not say where its events are kept"
    steps = [line for line in done.stdout.splitlines() if line.startswith("[ok  ]")]
    assert len(steps) == 5
    assert [s.split("→ ")[1].split()[0] for s in steps] == [
        "primary",
        "secondary",
        "oncall",
        "secondary",
        "primary",
    ]
    assert "demo PASSED" in done.stdout
    print(f"demo --script took {took:.1f}s")


@pytest.mark.slow
def test_break_and_restore_reach_a_running_demo() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "controller", "demo", "--free-ports"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
    )
    state = None
    try:
        assert demo.stdout is not None
        url = None
        printed: list[str] = []  # the banner's commands, to run exactly as printed
        for _ in range(40):
            line = demo.stdout.readline()
            if m := re.search(r"dashboard\s+(http://\S+)/dashboard", line):
                url = m.group(1)
            if m := re.search(r"state\s+(\S+) \(kept", line):
                state = Path(m.group(1))
            if line.startswith("    hotline "):
                printed.append(line.split("  (")[0].strip())
            if line.startswith("    hotline callbacks"):
                break
        assert url, "no dashboard URL printed"

        def hotline(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "controller", *args],
                cwd=ROOT,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=30,
            )

        def route_is(route: str) -> bool:
            st = hotline("status", "--url", url, "--token", "lab-viewer-token-0001")
            return st.returncode in (0, 1) and f"route   {route} " in st.stdout

        def run_printed(command: str) -> subprocess.CompletedProcess[str]:
            argv = shlex.split(command)
            assert argv[0] == "hotline" and f"--url {url}" in command, command
            return hotline(*argv[1:])

        deadline = time.monotonic() + 30
        while not route_is("primary") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(printed) == 9, printed
        for command in printed:  # each works as printed (with --free-ports: its --url)
            if " break " not in command and " restore " not in command:
                done = run_printed(command)
                assert done.returncode == 0, (command, done.stdout, done.stderr)
        broke = run_printed(next(c for c in printed if " break " in c))
        assert broke.returncode == 0 and "trunk-a broken" in broke.stdout
        assert hotline("demo", "break", "nosuch", "--url", url).returncode == 2
        deadline = time.monotonic() + 30
        while not route_is("secondary") and time.monotonic() < deadline:
            time.sleep(0.3)
        assert route_is("secondary")
        assert run_printed(next(c for c in printed if " restore " in c)).returncode == 0
        # The dashboard's buttons: listed for any token, pressed only by operators.
        viewer = {"Authorization": "Bearer lab-viewer-token-0001"}
        listed = httpx.get(f"{url}/v1/demo", headers=viewer, timeout=5).json()["actions"]
        assert {
            "label": "break pbx",
            "path": "/v1/demo/break",
            "method": "POST",
            "body": {"component": "pbx"},
        } in listed
        pressed = httpx.post(
            f"{url}/v1/demo/break", json={"component": "pbx"}, headers=viewer, timeout=5
        )
        assert pressed.status_code == 403
        assert httpx.get(f"{url}/v1/demo", timeout=5).status_code == 401
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(30)
        tail = ""
        if demo.stdout is not None:
            tail = demo.stdout.read()
            demo.stdout.close()
        kept = state is not None and (state / "events.db").exists()
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)
    assert code == 0
    assert kept and f"kept in {state}" in tail  # the lab's events outlive it
