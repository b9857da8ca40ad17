"""Hysteresis under injected loss, end to end: probe → seeded lossy UDP relay → sipp.

The relay drops each datagram towards the trunk with probability 0.3 (a seeded RNG, so the run
is repeatable); replies pass. With the default rise/fall (2/3) and UDP retransmission on T1, a
sample fails only if all its transmissions are lost (0.3³ with 3 sends), and a false "down" needs
three such samples in a row (≈ 2·10⁻⁵ per sample). Without retransmission the same loss takes the
trunk down within a few dozen samples (see test_hysteresis). Then the trunk really goes silent
and must be declared down within ``fall × interval + timeout``.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from controller.config import ComponentSettings
from health.model import Status
from health.monitor import HealthMonitor
from health.sip.message import branch_of_request

pytestmark = pytest.mark.slow

LOSS = 0.3
SAMPLES = 200


class LossyRelay(asyncio.DatagramProtocol):
    """Forwards client → upstream dropping ``loss`` of datagrams, and upstream → client."""

    def __init__(self, upstream: tuple[str, int], loss: float, seed: int) -> None:
        self.upstream = upstream
        self.loss = loss
        self.rng = random.Random(seed)
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.forwarded = self.dropped = 0
        self.sends_per_branch: dict[str, int] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.upstream:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        self.client = addr
        branch = branch_of_request(data) or ""
        self.sends_per_branch[branch] = self.sends_per_branch.get(branch, 0) + 1
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        self.forwarded += 1
        self.transport.sendto(data, self.upstream)


async def test_30_percent_loss_does_not_take_trunk_down_but_outage_does(sipp_200: Any) -> None:
    loop = asyncio.get_running_loop()
    relay_transport, relay = await loop.create_datagram_endpoint(
        lambda: LossyRelay(("127.0.0.1", sipp_200.port), LOSS, seed=5),
        local_addr=("127.0.0.1", 0),
    )
    port = relay_transport.get_extra_info("sockname")[1]
    # Time-scaled: interval 0.12 s, timeout 0.08 s, T1 16 ms → sends at 0, 16, 48 ms (3 sends,
    # like T1 = 500 ms in a 2 s timeout). rise/fall are the defaults (2/3).
    settings = ComponentSettings.model_validate(
        {
            "kind": "trunk",
            "probes": [{"type": "sip", "uri": f"sip:127.0.0.1:{port}", "t1_ms": 16}],
            "interval_s": 0.12,
            "timeout_s": 0.08,
        }
    )
    assert (settings.rise, settings.fall) == (2, 3)
    monitor = HealthMonitor({"trunk-a": settings}, rng=random.Random(7))
    changes = monitor.subscribe()
    await monitor.start()
    try:
        assert (await asyncio.wait_for(changes.get(), 5)).status is Status.UP
        deadline = time.monotonic() + 60
        while monitor.state("trunk-a").samples < SAMPLES and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        state = monitor.state("trunk-a")
        assert state.samples >= SAMPLES
        assert changes.empty(), f"went {changes.get_nowait().status} under loss"
        assert state.status is Status.UP
        total = relay.forwarded + relay.dropped
        assert 0.25 < relay.dropped / total < 0.35  # the loss really happened
        assert any(n > 1 for n in relay.sends_per_branch.values())  # retransmissions covered it

        sipp_200.pause()  # a real outage: the trunk stops answering
        outage = time.monotonic()
        try:
            down = await asyncio.wait_for(changes.get(), 5)
            detected = time.monotonic() - outage
        finally:
            sipp_200.resume()
    finally:
        await monitor.stop()
        relay_transport.close()
    assert down.status is Status.DOWN and down.reason.startswith("timeout after 3 sends")
    bound = settings.fall * settings.interval_s + settings.timeout_s
    assert detected <= bound, f"outage detected after {detected:.3f}s > {bound}s"
