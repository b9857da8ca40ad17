"""The emulator's network side routes calls to the SIM by the forwarding in force (TS 22.082)
and records what an oracle needs: the call history and every forwarding write per connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from modem.emulator import ModemEmulator
from modem.emulator.calls import route
from modem.emulator.control import start_control

PRIMARY, BUSY, NOREPLY, NRC = "+420212000001", "+420212000002", "+420777000001", "+420777000002"
CALLER = "+420601555001"


@pytest.mark.parametrize(
    ("fwd", "reachable", "busy", "expected"),
    [
        ({"unconditional": PRIMARY, "busy": BUSY}, False, True, ("unconditional", PRIMARY)),
        ({"not-reachable": NRC, "busy": BUSY}, False, True, ("not-reachable", NRC)),
        ({"not-reachable": NRC, "busy": BUSY}, True, True, ("busy", BUSY)),
        ({"no-reply": NOREPLY, "busy": BUSY}, True, False, ("no-reply", NOREPLY)),
        ({"busy": BUSY}, False, False, ("unreachable", "")),
        ({"not-reachable": NRC}, True, True, ("busy-tone", "")),
        ({}, True, False, ("ringing", "")),
    ],
)
def test_routing_rules(
    fwd: dict[str, str | None], reachable: bool, busy: bool, expected: tuple[str, str]
) -> None:
    assert route(fwd, reachable=reachable, busy=busy) == expected


@pytest.fixture
async def emu() -> AsyncIterator[ModemEmulator]:
    e = ModemEmulator()
    e.faults.latency = 0.01
    try:
        yield e
    finally:
        await e.stop()


async def _at(port: int, *lines: str) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    try:
        for line in lines:
            writer.write(line.encode() + b"\r")
            buf = b""
            async with asyncio.timeout(3):
                while not (buf.endswith(b"OK\r\n") or b"ERROR" in buf):
                    buf += await reader.read(4096)
            out.append(buf.decode())
    finally:
        writer.close()
    return out


async def _control(port: int, request: dict[str, Any]) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(json.dumps(request).encode() + b"\n")
    answer: dict[str, Any] = json.loads(await reader.readline())
    writer.close()
    return answer


async def test_calls_follow_the_forwarding_written_over_at(emu: ModemEmulator) -> None:
    port = await emu.start_tcp()
    control = await start_control(emu, "127.0.0.1", 0)
    cport = control.sockets[0].getsockname()[1]
    try:
        first = await _control(cport, {"cmd": "call", "caller": CALLER})
        assert first["call"]["rule"] == "ringing" and first["call"]["destination"] is None
        answers = await _at(port, "ATE0", f'AT+CCFC=0,3,"{PRIMARY}",145', f'AT+CCFC=1,3,"{BUSY}"')
        assert all(a.strip().endswith("OK") for a in answers), answers
        forwarded = (await _control(cport, {"cmd": "call", "caller": CALLER}))["call"]
        assert (forwarded["rule"], forwarded["destination"]) == ("unconditional", PRIMARY)
        assert forwarded["forwarding"]["busy"] == BUSY
        await _at(port, "AT+CCFC=0,4")  # erase CFU; the SIM is busy: CFB applies
        await _control(cport, {"cmd": "set_network", "busy": True})
        busy = (await _control(cport, {"cmd": "call", "caller": CALLER}))["call"]
        assert (busy["rule"], busy["destination"]) == ("busy", BUSY)
        emu.faults.no_network = True  # unreachable, no CFNRc set: nowhere
        assert (await _control(cport, {"cmd": "call", "caller": CALLER}))["call"]["rule"] == (
            "unreachable"
        )
        history = (await _control(cport, {"cmd": "calls", "after": first["call"]["t"]}))["calls"]
        assert [c["rule"] for c in history] == ["unconditional", "busy", "unreachable"]
        writes = (await _control(cport, {"cmd": "forwarding_writes"}))["forwarding_writes"]
        assert [w["command"] for w in writes] == [
            f"+CCFC=0,3,{PRIMARY}",
            f"+CCFC=1,3,{BUSY}",
            "+CCFC=0,4,",
        ]
        assert len({w["connection"] for w in writes}) == 2  # two AT connections, told apart
        assert writes[0]["forwarding"]["unconditional"] == PRIMARY
        assert writes[2]["forwarding"]["unconditional"] is None
        tried = (await _control(cport, {"cmd": "attempts"}))["attempts"]
        assert tried["+CCFC"] == 3  # what an attempt-numbered fault (lab modem_errors) counts
    finally:
        control.close()


async def test_a_call_nobody_forwards_rings_the_modem(emu: ModemEmulator) -> None:
    port = await emu.start_tcp()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"AT+CLIP=1\r")
        await reader.readuntil(b"OK\r\n")
        entry = emu.incoming_call(CALLER)
        assert entry["rings_sim"]
        async with asyncio.timeout(3):
            got = await reader.readuntil(b"+CLIP:")
            got += await reader.readuntil(b"\r\n")
        assert b"RING" in got and CALLER.encode() in got
    finally:
        writer.close()
