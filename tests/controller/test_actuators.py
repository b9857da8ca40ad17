"""Actuators against real peers: Kamailio's dispatcher over JSON-RPC, a local HTTP server for the
webhook, a real executable for the command actuator; retries and dry-run per actuator; how few
queries the modem actuator needs to prove a switch."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from controller.config import Route
from controller.config.actuators import (
    CommandActuatorSettings,
    HttpActuatorSettings,
    KamailioActuatorSettings,
)
from controller.loop.actuators.base import ActuationError, RouteTarget, run_step
from controller.loop.actuators.command import CommandActuator
from controller.loop.actuators.http import HttpActuator, render_body
from controller.loop.actuators.kamailio import KamailioActuator
from tests.controller.kamailio_peer import GW_A, GW_B, kamailio_available, start_kamailio

SECONDARY = RouteTarget(Route.SECONDARY, "+420212000002", 'trunk-a down; "quoted"', 7)
PRIMARY = RouteTarget(Route.PRIMARY, "+420212000001", "healthy", 7)


def flags(k: Any) -> dict[str, str]:
    res = k.rpc("dispatcher.list")["result"]
    return {t["DEST"]["URI"]: t["DEST"]["FLAGS"] for t in res["RECORDS"][0]["SET"]["TARGETS"]}


@pytest.mark.slow
@pytest.mark.skipif(not kamailio_available(), reason="kamailio is not installed")
async def test_kamailio_dispatcher_follows_the_route(tmp_path: Path) -> None:
    k = start_kamailio(tmp_path)
    try:
        act = KamailioActuator(
            KamailioActuatorSettings(
                type="kamailio",
                url=k.url,
                set_id=1,
                retries=0,
                gateways={"primary": (GW_A,), "secondary": (GW_B,)},
            )
        )
        out = await run_step(act, SECONDARY)
        assert out.outcome == "ok", out.detail
        assert flags(k)[GW_A].startswith("I") and flags(k)[GW_B].startswith("A")
        assert (await act.verify(PRIMARY)).ok is False
        # Someone flips a gateway by hand: verify notices, apply restores.
        k.rpc("dispatcher.set_state", "a", 1, GW_A)
        assert not (await act.verify(SECONDARY)).ok
        assert (await run_step(act, SECONDARY)).outcome == "ok"
        assert flags(k)[GW_A].startswith("I")
        assert (await run_step(act, PRIMARY)).outcome == "ok"
        assert flags(k)[GW_A].startswith("A") and flags(k)[GW_B].startswith("I")
        # A route without gateways here leaves the dispatcher alone.
        oncall = RouteTarget(Route.ONCALL, "+420777000001", "total outage", 7)
        assert (await run_step(act, oncall)).outcome == "ok"
        assert flags(k)[GW_A].startswith("A")
        await act.close()
    finally:
        k.stop()


async def test_kamailio_unreachable_fails_after_retries(tmp_path: Path) -> None:
    act = KamailioActuator(
        KamailioActuatorSettings(
            type="kamailio",
            url="http://127.0.0.1:9/RPC",
            set_id=1,
            retries=1,
            backoff_s=0.01,
            timeout_s=2,
            gateways={"primary": (GW_A,)},
        )
    )
    out = await run_step(act, PRIMARY)
    assert out.outcome == "failed" and out.attempts == 2 and "ConnectError" in out.detail
    await act.close()


class Recorder(BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Recorder.got.append(("POST", self.path, dict(self.headers), body))
        self.send_response(Recorder.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[str]:
    Recorder.got, Recorder.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http_webhook_sends_the_route_and_keeps_its_token_out_of_errors(
    webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = HttpActuatorSettings.model_validate(
        {
            "type": "http",
            "url": f"{webhook}/route",
            "retries": 1,
            "backoff_s": 0.01,
            "headers": {"Authorization": "Bearer pbx-secret-token-123"},
            "body": '{"target": "$route", "to": "$number", "why": "$reason"}',
        }
    )
    act = HttpActuator(settings)
    out = await run_step(act, SECONDARY)
    assert out.outcome == "ok"
    _, path, headers, body = Recorder.got[-1]
    assert path == "/route" and headers["Authorization"] == "Bearer pbx-secret-token-123"
    assert json.loads(body) == {
        "target": "secondary",
        "to": "+420212000002",
        "why": 'trunk-a down; "quoted"',
    }
    Recorder.status = 500
    failed = await run_step(act, PRIMARY)
    assert failed.outcome == "failed" and "HTTP 500" in failed.detail
    assert "pbx-secret-token-123" not in failed.detail + caplog.text
    await act.close()


def test_default_body_is_json_with_every_field() -> None:
    assert json.loads(render_body(None, SECONDARY)) == {
        "route": "secondary",
        "number": "+420212000002",
        "reason": 'trunk-a down; "quoted"',
        "epoch": 7,
    }


async def test_command_gets_the_route_in_its_environment(tmp_path: Path) -> None:
    out_file = tmp_path / "env.json"
    script = (
        "import json, os, sys; json.dump({k: v for k, v in os.environ.items() "
        "if k.startswith('HOTLINE_') or k == 'EXTRA'}, open(sys.argv[1], 'w'))"
    )
    act = CommandActuator(
        CommandActuatorSettings(
            type="command", argv=(sys.executable, "-c", script, str(out_file)), env={"EXTRA": "1"}
        )
    )
    assert (await run_step(act, SECONDARY)).outcome == "ok"
    assert json.loads(out_file.read_text()) == {
        "HOTLINE_ROUTE": "secondary",
        "HOTLINE_NUMBER": "+420212000002",
        "HOTLINE_REASON": 'trunk-a down; "quoted"',
        "HOTLINE_EPOCH": "7",
        "EXTRA": "1",
    }


async def test_command_failure_and_per_actuator_dry_run(tmp_path: Path) -> None:
    failing = CommandActuator(
        CommandActuatorSettings(
            type="command",
            argv=(sys.executable, "-c", "import sys; sys.exit('boom')"),
            retries=1,
            backoff_s=0.01,
        )
    )
    out = await run_step(failing, PRIMARY)
    assert out.outcome == "failed" and out.attempts == 2 and "exit status 1" in out.detail
    marker = tmp_path / "touched"
    dry = CommandActuator(
        CommandActuatorSettings(type="command", argv=("touch", str(marker)), dry_run=True)
    )
    out = await run_step(dry, PRIMARY)
    assert out.outcome == "dry-run" and not marker.exists()


async def test_run_step_checks_the_fence_before_every_attempt() -> None:
    from controller.config.actuators import ModemActuatorSettings
    from controller.coordination.base import CoordinationError
    from controller.loop.actuators.modem import ModemActuator
    from tests.controller.helpers import MemoryForwarding

    device = MemoryForwarding("+420212000001")
    device.fail_writes = 2
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=3, backoff_s=0.0), device)
    checks: list[int] = []

    async def fence() -> None:
        checks.append(len(checks) + 1)
        if len(checks) == 3:
            raise CoordinationError("fenced: epoch 4 is no longer current")

    out = await run_step(act, SECONDARY, fence=fence)
    assert out.outcome == "fenced" and not out.ok and out.attempts == 2, out
    assert "before attempt 3" in out.detail and "epoch 4" in out.detail
    assert checks == [1, 2, 3] and device.writes == []  # the third apply never ran
    assert (await run_step(act, SECONDARY, fence=fence)).outcome == "ok"  # fence fine again
    assert device.writes == ["+420212000002"]


class CountingForwarding:
    """A verified forwarding device that counts the network queries (+CCFC reads)."""

    def __init__(self, number: str | None = None) -> None:
        self.number = number
        self.reads = 0
        self.writes: list[str] = []
        self.fail_writes = 0

    async def read_forwarding(self) -> str | None:
        self.reads += 1
        return self.number

    async def write_forwarding(self, number: str) -> None:
        from modem.errors import ForwardingNotVerified

        if self.fail_writes:
            self.fail_writes -= 1
            raise ForwardingNotVerified("network shows not active", command="+CCFC")
        self.writes.append(number)
        self.number = number


async def test_modem_switch_reads_only_what_it_does_not_know() -> None:
    from controller.config.actuators import ModemActuatorSettings
    from controller.loop.actuators.base import check_step
    from controller.loop.actuators.modem import ModemActuator

    device = CountingForwarding()
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=1, backoff_s=0.0), device)
    assert await act.observe() is None and device.reads == 1  # the start-up read
    assert (await run_step(act, PRIMARY)).outcome == "ok"
    assert device.reads == 1 and device.writes == ["+420212000001"]  # verify reused the write
    assert (await run_step(act, SECONDARY)).outcome == "ok"
    assert device.reads == 1 and act.last_seen == "+420212000002"
    assert (await check_step(act, SECONDARY)).ok and device.reads == 2  # a drift check asks
    device.number = "+420999000111"  # drift behind our back
    check = await check_step(act, SECONDARY)
    assert not check.ok and "+420999000111" in check.observed and device.reads == 3
    device.fail_writes = 1  # the write's read-back fails: the retry does not trust memory
    out = await run_step(act, PRIMARY)
    assert out.outcome == "ok" and out.attempts == 2, out
    assert device.reads == 4 and device.writes[-1] == "+420212000001"
    # Believed to be the target already: one read may save the write, and is verify's proof.
    assert (await run_step(act, PRIMARY)).outcome == "ok"
    assert device.reads == 5 and len(device.writes) == 3
    assert (await check_step(act, PRIMARY)).ok and device.reads == 6  # a later check asks


async def test_modem_trusts_a_handed_over_read_and_assumes_a_record() -> None:
    """The start-up read after a crash is proof (no I/O to keep that route, a write at once for
    another); a verified record on taking over is belief (a write at once, or one read)."""
    from controller.config.actuators import ModemActuatorSettings
    from controller.loop.actuators.base import check_step
    from controller.loop.actuators.modem import ModemActuator

    device = CountingForwarding()
    device.number = "+420212000002"
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), device)
    act.trust("+420212000002")
    assert (await run_step(act, SECONDARY)).outcome == "ok"
    assert (device.reads, device.writes) == (0, [])
    assert (await check_step(act, SECONDARY)).ok and device.reads == 1  # proof used once
    act.trust("+420212000002")
    assert (await run_step(act, PRIMARY)).outcome == "ok"
    assert (device.reads, device.writes) == (1, ["+420212000001"])  # the write's own read-back
    act.trust(None)  # proof of another number than the target's: verify asks
    assert (await check_step(act, PRIMARY)).ok and device.reads == 2
    fresh = ModemActuator(ModemActuatorSettings(type="modem", retries=0), device)
    fresh.assume("+420212000001")
    assert (await run_step(fresh, SECONDARY)).outcome == "ok"
    assert (device.reads, device.writes[-1]) == (2, "+420212000002")
    fresh.assume("+420212000002")
    assert (await check_step(fresh, SECONDARY)).ok and device.reads == 3  # belief is no proof


async def test_modem_errors_become_actuation_errors() -> None:
    from controller.config.actuators import ModemActuatorSettings
    from controller.loop.actuators.modem import ModemActuator
    from modem.errors import ModemUnavailable

    class Gone(CountingForwarding):
        async def read_forwarding(self) -> str | None:
            raise ModemUnavailable("the modem is held by the leader, not by this node")

    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), Gone())
    out = await run_step(act, PRIMARY)
    assert out.outcome == "failed", out
    assert (
        out.detail == "forwarding query failed: the modem is held by the leader, not by this node"
    )
    device = CountingForwarding()
    device.fail_writes = 1
    act = ModemActuator(ModemActuatorSettings(type="modem", retries=0), device)
    with pytest.raises(ActuationError, match="setting forwarding failed: network shows"):
        await act.apply(PRIMARY)
