"""HTTP, TCP connect, command and modem probes against loopback servers and a fake modem."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from health.probes import ProbeContext, build_probe
from health.probes.modem import ModemProbe
from health.specs import CommandProbeSpec, HttpProbeSpec, ModemProbeSpec, TcpProbeSpec


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    c = ProbeContext()
    yield c
    await c.close()


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(0.5)
        code = 200 if self.path in ("/ok", "/slow") else 503
        body = b'{"trunks": "registered"}' if code == 200 else b"maintenance"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_http_status_and_body(ctx: ProbeContext, http_server: str) -> None:
    ok = HttpProbeSpec(type="http", url=f"{http_server}/ok", body_contains="registered")
    assert (await build_probe(ok, ctx).run(1.0)).reason == "HTTP 200 OK"
    lacking = HttpProbeSpec(type="http", url=f"{http_server}/ok", body_contains="unregistered")
    assert not (await build_probe(lacking, ctx).run(1.0)).ok
    down = await build_probe(HttpProbeSpec(type="http", url=f"{http_server}/x"), ctx).run(1.0)
    assert (down.ok, down.reason) == (False, "HTTP 503 Service Unavailable")
    slow = await build_probe(HttpProbeSpec(type="http", url=f"{http_server}/slow"), ctx).run(0.2)
    assert (slow.ok, slow.reason) == (False, "timeout")
    url = f"http://127.0.0.1:{_closed_port()}/"
    refused = await build_probe(HttpProbeSpec(type="http", url=url), ctx).run(1.0)
    assert (refused.ok, refused.reason) == (False, "connection refused")


async def test_tcp_connect(ctx: ProbeContext) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        result = await build_probe(TcpProbeSpec(type="tcp", host="127.0.0.1", port=port), ctx).run(
            1
        )
        assert (result.ok, result.reason) == (True, "connected")
    closed = TcpProbeSpec(type="tcp", host="127.0.0.1", port=_closed_port())
    assert (await build_probe(closed, ctx).run(1.0)).reason == "connection refused"


async def test_command_exit_status_and_timeout(ctx: ProbeContext) -> None:
    def cmd(*argv: str) -> CommandProbeSpec:
        return CommandProbeSpec(type="command", argv=argv)

    assert (await build_probe(cmd(sys.executable, "-c", "pass"), ctx).run(5)).ok
    code = "import sys; sys.stderr.write('trunk B unregistered\\n'); sys.exit(3)"
    failed = await build_probe(cmd(sys.executable, "-c", code), ctx).run(5)
    assert (failed.ok, failed.reason) == (False, "exit 3: trunk B unregistered")
    started = time.monotonic()
    hung = await build_probe(cmd(sys.executable, "-c", "import time; time.sleep(30)"), ctx).run(0.3)
    assert (hung.ok, hung.reason) == (False, "timeout (killed)")
    assert time.monotonic() - started < 3
    missing = await build_probe(cmd("/nonexistent/check"), ctx).run(1)
    assert not missing.ok and missing.reason.startswith("cannot run")


@dataclass(frozen=True)
class FakeModemStatus:
    sim_ready: bool = True
    registered: bool = True
    roaming: bool = False
    signal_dbm: int | None = -71
    operator: str | None = "T-Mobile CZ"


class FakeModem:
    """A ModemStatusSource stand-in (the real driver lives in modem/)."""

    def __init__(self, status: FakeModemStatus | Exception, delay: float = 0.0) -> None:
        self.value = status
        self.delay = delay

    async def status(self) -> FakeModemStatus:
        await asyncio.sleep(self.delay)
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


@pytest.mark.parametrize(
    ("status", "spec", "ok", "reason"),
    [
        (FakeModemStatus(), {}, True, "registered home T-Mobile CZ, -71 dBm"),
        (FakeModemStatus(sim_ready=False), {}, False, "SIM not ready"),
        (FakeModemStatus(registered=False), {}, False, "not registered"),
        (FakeModemStatus(roaming=True), {}, True, "registered roaming T-Mobile CZ, -71 dBm"),
        (FakeModemStatus(roaming=True), {"allow_roaming": False}, False, "roaming not allowed"),
        (FakeModemStatus(signal_dbm=-109), {}, False, "signal -109 dBm below -105 dBm"),
        (FakeModemStatus(signal_dbm=None), {}, True, "registered home T-Mobile CZ, signal unknown"),
        (TimeoutError(), {}, False, "timeout"),
        (OSError("port gone"), {}, False, "modem: OSError: port gone"),
    ],
)
async def test_modem_probe(status: object, spec: dict[str, object], ok: bool, reason: str) -> None:
    probe = ModemProbe(ModemProbeSpec(type="modem", **spec), FakeModem(status))  # type: ignore[arg-type]
    result = await probe.run(1.0)
    assert (result.ok, result.reason) == (ok, reason)


async def test_modem_probe_timeout_and_missing_driver() -> None:
    slow = ModemProbe(ModemProbeSpec(type="modem"), FakeModem(FakeModemStatus(), delay=5))
    assert (await slow.run(0.1)).reason == "timeout"
    assert (await ModemProbe(ModemProbeSpec(type="modem"), None).run(1)).reason == "no modem driver"
