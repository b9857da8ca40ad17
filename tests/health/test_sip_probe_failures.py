"""SIP OPTIONS failure modes against scripted loopback peers: each way a reply can be wrong."""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from health.probes import ProbeContext
from health.probes.sip import SipProbe
from health.specs import SipProbeSpec


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    c = ProbeContext()
    yield c
    await c.close()


def probe(ctx: ProbeContext, port: int, transport: str = "udp", **kw: object) -> SipProbe:
    uri = f"sip:127.0.0.1:{port};transport={transport}"
    return SipProbe(SipProbeSpec.model_validate({"type": "sip", "uri": uri, **kw}), ctx)


async def test_wrong_call_id_never_counts(ctx: ProbeContext, scripted_udp, reply) -> None:
    _, port = await scripted_udp(lambda req: [(0, reply(req, Call_ID="spoof@evil"))])
    result = await probe(ctx, port, t1_ms=1000).run(0.3)
    assert not result.ok
    assert result.reason == "timeout after 1 sends (reply with foreign Call-ID/CSeq ignored)"


async def test_spoofed_reply_does_not_end_the_transaction(
    ctx: ProbeContext, scripted_udp, reply
) -> None:
    """A forged reply arrives first; the genuine 200 after it still counts."""

    def script(req: bytes) -> list[tuple[float, bytes]]:
        forged = reply(req, "503 Service Unavailable", Call_ID="x@y")
        stray = reply(req, "503 Service Unavailable", Via="SIP/2.0/UDP h;branch=z9hG4bKnot")
        return [(0, forged), (0, stray), (0.05, reply(req))]

    result = await probe(ctx, *[(await scripted_udp(script))[1]]).run(1.0)
    assert result.ok and result.reason == "200 OK"


async def test_malformed_reply_is_a_failure_with_its_reason(
    ctx: ProbeContext, scripted_udp, reply
) -> None:
    _, port = await scripted_udp(lambda req: [(0, b"SIP/2.0 OK but not really\r\n\r\n")])
    result = await probe(ctx, port, t1_ms=1000).run(0.3)
    assert not result.ok
    assert "malformed reply: not a SIP response" in result.reason


async def test_slow_reply_past_timeout_fails(ctx: ProbeContext, scripted_udp, reply) -> None:
    _, port = await scripted_udp(lambda req: [(0.5, reply(req))])
    started = time.monotonic()
    result = await probe(ctx, port, t1_ms=1000).run(0.25)
    elapsed = time.monotonic() - started
    assert not result.ok and result.reason.startswith("timeout")
    assert 0.24 <= elapsed < 0.45


async def test_slow_reply_within_timeout_reports_latency(
    ctx: ProbeContext, scripted_udp, reply
) -> None:
    _, port = await scripted_udp(lambda req: [(0.15, reply(req))])
    result = await probe(ctx, port, t1_ms=1000).run(1.0)
    assert result.ok and result.latency_ms is not None and 140 <= result.latency_ms < 800


async def test_provisional_reply_waits_for_final(ctx: ProbeContext, scripted_udp, reply) -> None:
    _, port = await scripted_udp(
        lambda req: [(0, reply(req, "100 Trying")), (0.05, reply(req, "404 Not Found"))]
    )
    assert (await probe(ctx, port).run(1.0)).reason == "404 Not Found"
    p = probe(ctx, port, alive_codes=[200, 404, 405, 501])
    result = await p.run(1.0)
    assert result.ok and result.reason == "404 Not Found"


async def test_udp_retransmits_on_t1_until_answered(ctx: ProbeContext, scripted_udp, reply) -> None:
    """The peer ignores the first two transmissions: sends at 0, T1, 3·T1 — the third wins."""
    seen: list[float] = []

    def script(req: bytes) -> list[tuple[float, bytes]]:
        seen.append(time.monotonic())
        return [(0, reply(req))] if len(seen) == 3 else []

    peer, port = await scripted_udp(script)
    result = await probe(ctx, port, t1_ms=100).run(1.0)
    assert result.ok
    assert len({r for r in peer.received}) == 1  # the same request (same branch) each time
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert 0.09 <= gaps[0] < 0.16 and 0.19 <= gaps[1] < 0.28  # T1, then 2·T1


async def test_refused_udp_port_fails_at_once(ctx: ProbeContext) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = await probe(ctx, port).run(2.0)
    assert not result.ok and result.reason == "ICMP port unreachable"
    assert time.monotonic() - started < 0.2


async def test_many_targets_share_one_socket(ctx: ProbeContext, scripted_udp, reply) -> None:
    peers = [await scripted_udp(lambda req: [(0.01, reply(req))]) for _ in range(5)]
    fds_before = len(os.listdir("/proc/self/fd"))
    probes = [probe(ctx, port) for _, port in peers for _ in range(20)]
    results = await asyncio.gather(*(p.run(1.0) for p in probes))
    assert all(r.ok for r in results)
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 1  # one shared UDP socket
    assert all(len(peer.received) == 20 for peer, _ in peers)


# --- TCP and TLS ---------------------------------------------------------------------------


async def _serve_sip(
    reply: object, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        data = await reader.readuntil(b"\r\n\r\n")
        writer.write(reply(data))
        await writer.drain()
        await reader.read(1)  # the client closes
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def test_tcp_reset_fails_at_once(ctx: ProbeContext) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        started = time.monotonic()
        result = await probe(ctx, port, "tcp").run(2.0)
    assert not result.ok
    assert result.reason in ("connection reset", "connection closed by peer")
    assert time.monotonic() - started < 0.5


async def test_tcp_refused_fails_at_once(ctx: ProbeContext) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await probe(ctx, port, "tcp").run(2.0)
    assert (result.ok, result.reason) == (False, "connection refused")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


async def test_tls_options(ctx: ProbeContext, cert: tuple[Path, Path], reply) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*cert)
    server = await asyncio.start_server(
        functools.partial(_serve_sip, reply), "127.0.0.1", 0, ssl=server_ctx
    )
    async with server:
        port = server.sockets[0].getsockname()[1]
        untrusted = await probe(ctx, port, "tls").run(2.0)
        assert not untrusted.ok and untrusted.reason.startswith("TLS: CERTIFICATE_VERIFY_FAILED")
        pinned = await probe(ctx, port, "tls", tls_ca_file=str(cert[0])).run(2.0)
        assert pinned.ok and pinned.reason == "200 OK"
        unverified = await probe(ctx, port, "tls", tls_verify=False).run(2.0)
        assert unverified.ok


async def test_icmp_errors_land_on_the_right_transaction(ctx: ProbeContext, scripted_udp, reply):
    """Closed and live targets interleaved on one socket: an ICMP error for one target (which
    Linux may report on the next sendto to another) never fails the live one."""
    _, live = await scripted_udp(lambda req: [(0, reply(req))])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    probes = [probe(ctx, live if i % 2 else closed) for i in range(40)]
    for _ in range(3):
        results = await asyncio.gather(*(p.run(1.0) for p in probes))
        reasons = [r.reason for r in results]
        assert reasons[1::2] == ["200 OK"] * 20
        assert reasons[0::2] == ["ICMP port unreachable"] * 20


async def test_ipv6_loopback(ctx: ProbeContext, reply) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    loop = asyncio.get_running_loop()

    class Answer(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(reply(data), addr)  # type: ignore[attr-defined]

    try:
        transport, _ = await loop.create_datagram_endpoint(Answer, local_addr=("::1", 0))
    except OSError:
        pytest.skip("::1 not configured")
    try:
        port = transport.get_extra_info("sockname")[1]
        uri = f"sip:[::1]:{port}"
        result = await SipProbe(SipProbeSpec(type="sip", uri=uri), ctx).run(1.0)
        assert (result.ok, result.reason) == (True, "200 OK")
    finally:
        transport.close()
