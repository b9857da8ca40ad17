"""SIP OPTIONS against real peers on loopback: sipp as a UAS (200, 503, silence) and Kamailio."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from health.probes import ProbeContext
from health.probes.sip import SipProbe
from health.specs import SipProbeSpec

pytestmark = pytest.mark.slow


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    c = ProbeContext()
    yield c
    await c.close()


def probe(ctx: ProbeContext, port: int, transport: str = "udp", **kw: object) -> SipProbe:
    uri = f"sip:127.0.0.1:{port};transport={transport}"
    return SipProbe(SipProbeSpec.model_validate({"type": "sip", "uri": uri, **kw}), ctx)


async def test_sipp_200_is_alive(ctx: ProbeContext, sipp_200) -> None:
    result = await probe(ctx, sipp_200.port).run(1.0)
    assert result.ok and result.reason == "200 OK"
    assert result.latency_ms is not None and result.latency_ms < 500


async def test_sipp_503_is_dead_unless_configured_alive(ctx: ProbeContext, sipp_503) -> None:
    result = await probe(ctx, sipp_503.port).run(1.0)
    assert (result.ok, result.reason) == (False, "503 Service Unavailable")
    tolerant = await probe(ctx, sipp_503.port, alive_codes=[200, 503]).run(1.0)
    assert tolerant.ok


async def test_sipp_silent_on_demand_times_out_after_retransmissions(
    ctx: ProbeContext, sipp_200
) -> None:
    sipp_200.pause()
    try:
        started = time.monotonic()
        result = await probe(ctx, sipp_200.port, t1_ms=100).run(0.6)
        elapsed = time.monotonic() - started
    finally:
        sipp_200.resume()
    assert not result.ok and result.reason == "timeout after 3 sends"  # at 0, T1, 3·T1
    assert 0.59 <= elapsed < 0.9
    assert (await probe(ctx, sipp_200.port).run(1.0)).ok  # answers again once resumed


async def test_sipp_over_tcp(ctx: ProbeContext, sipp_tcp) -> None:
    result = await probe(ctx, sipp_tcp.port, "tcp").run(1.0)
    assert result.ok and result.reason == "200 OK"


async def test_kamailio_answers_options_udp_and_tcp(ctx: ProbeContext, kamailio) -> None:
    peer, _ = kamailio
    for transport in ("udp", "tcp"):
        result = await probe(ctx, peer.port, transport).run(1.0)
        assert (result.ok, result.reason) == (True, "200 Keepalive"), transport


async def test_kamailio_rejecting_options_counts_per_alive_codes(
    ctx: ProbeContext, kamailio
) -> None:
    """Like ds_ping_reply_codes: a proxy answering 405 is up if we say so."""
    _, reject_port = kamailio
    strict = await probe(ctx, reject_port).run(1.0)
    assert (strict.ok, strict.reason) == (False, "405 Method Not Allowed")
    tolerant = await probe(ctx, reject_port, alive_codes=[200, 404, 405, 501]).run(1.0)
    assert tolerant.ok
