"""The CLI's own judgement, before any HTTP: durations, exit codes for bad input and for an
unreachable controller, the status text. (The CLI against a real daemon: test_e2e.py.)"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from controller.cli.main import main
from controller.cli.ops import format_status, parse_ttl


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
    ],
)
def test_ttl_durations(text: str, seconds: float) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5m", "30x", "m", "soon", "1e3"])
def test_bad_ttl_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_ttl(text)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: nobody listens


def test_exit_codes_without_a_controller(capsys: pytest.CaptureFixture[str]) -> None:
    url = _dead_url()
    assert main(["status", "--url", url, "--timeout", "2"]) == 3  # the check's UNKNOWN
    assert f"cannot reach the controller at {url}: connection refused" in capsys.readouterr().err
    assert main(["events", "--url", url, "--timeout", "2"]) == 1
    assert (
        main(["failover", "--to", "secondary", "--reason", "x", "--ttl", "later", "--url", url])
        == 2
    )
    assert main(["failover", "--to", "sideways", "--reason", "x"]) == 2
    assert main(["demo", "break", "trunk-a", "--url", url]) == 1
    assert main(["demo", "break"]) == 2


def test_run_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("node: {name: x}\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert "required key is missing" in capsys.readouterr().err


def test_token_is_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["status", "--url", _dead_url(), "--token", "very-secret-token-xyz", "--timeout", "2"])
    out = capsys.readouterr()
    assert "very-secret-token-xyz" not in out.out + out.err


def test_status_text_names_route_reason_and_components() -> None:
    text = format_status(
        {
            "node": "lab-1",
            "leader": "lab-1",
            "mode": "override",
            "epoch": 3,
            "active": {
                "route": "secondary",
                "number": "+420212000002",
                "since": "t",
                "verified": True,
                "failed": False,
            },
            "desired": "secondary",
            "reason": "manual override by ops",
            "oncall": "alice",
            "conditions": ["override"],
            "override": {"to": "secondary", "who": "ops", "expires_at": "t2", "reason": "maint"},
            "components": [
                {"name": "trunk-a", "kind": "trunk", "status": "down", "reason": "timeout"}
            ],
        }
    )
    assert "route   secondary → +420212000002" in text and "(verified)" in text
    assert "override to secondary by ops" in text and "trunk-a" in text and "timeout" in text


_OK: dict[str, object] = {
    "leader": "lab-1", "mode": "auto", "conditions": [], "desired": "primary",
    "active": {"route": "primary", "number": "+420212000001", "verified": True, "failed": False},
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code", "why"),
    [
        ({}, 0, "calls take the primary route, verified"),
        ({"active": {"route": "oncall", "verified": True}, "conditions": ["off_hours"]}, 0, ""),
        ({"active": {"route": "secondary", "verified": True}}, 1, "calls take the secondary route"),
        ({"mode": "paused", "conditions": ["paused"]}, 1, "paused"),
        ({"mode": "override"}, 1, "override"),
        ({"leader": None}, 1, "no node may actuate"),
        ({"conditions": ["flapping"]}, 1, "flapping"),
        ({"conditions": ["partial_outage"]}, 1, "partial outage"),
        ({"conditions": ["total_outage"]}, 2, "total outage"),
        ({"conditions": ["paused", "paused_on_down_route"]}, 2, "paused on a route that is down"),
        ({"active": {"route": "primary", "verified": False}}, 2, "route not verified"),
        ({"active": {"route": "primary", "verified": False, "failed": True}}, 2, "FAILED"),
        ({"active": {"route": None, "verified": False}}, 2, "route in force unknown"),
    ],
)  # fmt: skip
def test_status_verdicts(change: dict[str, object], code: int, why: str) -> None:
    from controller.cli.status import verdict

    got, said = verdict({**_OK, **change})
    assert got == code and why in said


def test_status_text_never_shows_none() -> None:
    text = format_status(
        {"node": "n", "leader": None, "mode": "auto", "epoch": None, "desired": None,
         "reason": None, "oncall": None,
         "active": {"route": None, "number": None, "since": None, "verified": False}}
    )  # fmt: skip
    assert "None" not in text
    assert "route   unknown → no forward (NOT verified)" in text and "leader none" in text
