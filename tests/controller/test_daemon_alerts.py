"""The served daemon wires the alerts side: the PBX's call webhook and the callback list are on
its API, and an ``ACK <code>`` SMS that reaches the modem acknowledges the incident."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine

from controller.daemon import assemble, serve
from controller.notifier.signal import Severity, Signal
from modem.emulator import ModemEmulator
from tests.controller.e2e_lab import free_port
from tests.controller.helpers import T0, FakeHealth, lab_config, lab_dict

PBX_TOKEN = "pbx-webhook-token-0001"
VIEWER = {"Authorization": "Bearer lab-viewer-token-0001"}


async def _until(probe, what: str, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# The rotation of examples/lab.yaml (anchor Monday 2026-01-05, hand-over 09:00 Europe/Prague, order
# alice, bob): a Wednesday noon of an even week since the anchor, and one of an odd week. The wall
# clock is pinned (and ticks from there), so the test means the same on any day it runs.
ROTATION_WEEKS = [
    pytest.param(datetime(2026, 1, 7, 11, 0, tzinfo=UTC), "alice", id="even-week-alice"),
    pytest.param(datetime(2026, 1, 14, 11, 0, tzinfo=UTC), "bob", id="odd-week-bob"),
]


@pytest.mark.parametrize(("instant", "on_call"), ROTATION_WEEKS)
async def test_calls_callbacks_and_sms_ack_through_the_daemon(
    tmp_path: Path, instant: datetime, on_call: str
) -> None:
    with time_machine.travel(instant, tick=True):
        await _calls_callbacks_and_ack(tmp_path, instant, on_call)


async def _calls_callbacks_and_ack(tmp_path: Path, instant: datetime, on_call: str) -> None:
    emu = ModemEmulator()
    modem_port = await emu.start_tcp("127.0.0.1", 0)
    api_port = free_port()
    data = lab_dict()
    tokens = [*data["api"]["tokens"], {"name": "pbx", "role": "pbx", "token": PBX_TOKEN}]
    cfg = lab_config(
        node={"name": "lab-1", "state_dir": str(tmp_path / "state")},
        hotline={
            **data["hotline"],
            "modem": {"url": f"socket://127.0.0.1:{modem_port}", "pin": "1234"},
        },
        api={"listen": f"127.0.0.1:{api_port}", "tokens": tokens},
    )
    parts = await assemble(cfg, monitor=FakeHealth(cfg, T0))
    stop = asyncio.Event()
    daemon = asyncio.create_task(serve(parts, cfg, stop))
    base = f"http://127.0.0.1:{api_port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(up, "the API")

            async def ticked() -> bool:  # the loop's first tick tells its conditions first
                got = (await http.get("/v1/status", headers=VIEWER)).json()
                return bool(got.get("active", {}).get("verified"))

            await _until(ticked, "the first verified route")
            start = instant - timedelta(minutes=2)  # the clock runs on from ``instant``
            end = start + timedelta(seconds=40)
            missed = {
                "call_id": "c-1",
                "caller": "+420601999888",
                "line": "primary",
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
            posted = await http.post(
                "/v1/calls", json=missed, headers={"Authorization": f"Bearer {PBX_TOKEN}"}
            )
            assert posted.status_code < 300, posted.text
            callbacks = (await http.get("/v1/callbacks", headers=VIEWER)).json()
            assert [c["caller"] for c in callbacks] == ["+420601999888"]

            # An incident: its SMS reaches the on-call mobile through the modem, with a code.
            await parts.sink.signal(
                Signal(
                    "route",
                    True,
                    Severity.CRITICAL,
                    "primary down",
                    "trunk-a down",
                    instant,
                    route="secondary",
                )
            )
            incidents = (await http.get("/v1/incidents", headers=VIEWER)).json()
            (incident,) = [i for i in incidents if i["state"] == "open"]
            code = parts.sink.store.incident(incident["id"]).code
            oncall = cfg.oncall.technicians  # the rotation's technician gets the SMS

            async def sms_sent() -> bool:
                return any(code in sms.text for sms in emu.outbox)

            await _until(sms_sent, "the incident SMS in the modem's outbox")
            recipient = next(s.to for s in emu.outbox if code in s.text)
            assert recipient == next(t.mobile for t in oncall if t.name == on_call)

            # The technician answers by SMS; the daemon reads it from the modem.
            emu.deliver_sms(recipient, f"ACK {code}")

            async def acked() -> bool:
                got = (await http.get(f"/v1/incidents/{incident['id']}", headers=VIEWER)).json()
                return got.get("acknowledged_by") == on_call

            await _until(acked, "the SMS acknowledgement", timeout=15)
    finally:
        stop.set()
        await asyncio.wait_for(daemon, timeout=30)
        await emu.stop()
