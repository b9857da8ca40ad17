"""A line-based JSON control port, so another process can watch and disturb a running emulator.

One JSON object per line in, one per line out (``{"ok": true, ...}`` or ``{"ok": false, "error":
...}``). Commands:

- ``{"cmd": "get_state"}`` → forwarding per reason, outbox, inbox, registration, signal, faults
- ``{"cmd": "set_forwarding", "reason": "unconditional", "number": "+420..." | null}`` — drift:
  someone changed the forwarding behind the controller's back (null erases it)
- ``{"cmd": "set_fault", "faults": {"no_network": true, "latency": 2.0, ...}}`` (see ``Faults``)
- ``{"cmd": "set_network", "registration": 1, "rssi": 20, "operator": "X"}`` (a registration
  change is sent as ``+CREG:`` / ``+CEREG:`` URCs to clients that enabled them)
- ``{"cmd": "deliver_sms", "sender": "+420...", "text": "..."}``
- ``{"cmd": "ring", "caller": "+420..."}``
- ``{"cmd": "drop"}`` — drop every connection (a pulled cable)
- ``{"cmd": "call", "caller": "+420..."}`` — a call to the SIM, routed by the forwarding in force
  (:mod:`modem.emulator.calls`); answers the call history entry (rule, destination)
- ``{"cmd": "calls", "after": T}`` / ``{"cmd": "forwarding_writes", "after": T}`` — the call
  history / the forwarding writes the network executed (connection, time, command), after time T
- ``{"cmd": "attempts"}`` — how often each command was tried (``ErrorFault.attempt`` counts them)
- ``set_network`` also takes ``"busy": true`` (the SIM is in a call: forwarding on busy applies)
- ``{"cmd": "transcript", "last": 50}``
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from modem.e164 import validate_e164
from modem.emulator.core import ModemEmulator
from modem.emulator.network import REASON_NAMES, JsonDoc

_REASONS = {name: code for code, name in REASON_NAMES.items()}
MAX_REQUEST = 65536


def handle(emu: ModemEmulator, request: JsonDoc) -> JsonDoc:
    cmd = request.get("cmd")
    if cmd == "get_state":
        return {"ok": True, "state": emu.state()}
    if cmd == "set_forwarding":
        reason = _REASONS[str(request.get("reason", "unconditional"))]
        number = request.get("number")
        if number is None:
            emu.network.apply_ccfc(reason, 4, None, 129, 7, None)
        else:
            emu.network.apply_ccfc(reason, 3, validate_e164(number), 145, 1, None)
        emu.state_changed()
        return {"ok": True, "forwarding": emu.network.forwarding_view()}
    if cmd == "set_fault":
        emu.faults.update(dict(request.get("faults", {})))
        emu.state_changed()
        return {"ok": True, "faults": emu.faults.to_json()}
    if cmd == "set_network":
        for key in ("rssi", "operator", "busy"):
            if key in request:
                setattr(emu.network, key, request[key])
        if "registration" in request:  # +CREG / +CEREG URCs where the client enabled them
            emu.set_registration(int(request["registration"]))
        emu.state_changed()
        return {"ok": True}
    if cmd == "deliver_sms":
        emu.deliver_sms(str(request["sender"]), str(request["text"]))
        return {"ok": True}
    if cmd == "ring":
        emu.ring(validate_e164(request["caller"]))
        return {"ok": True}
    if cmd == "call":
        return {"ok": True, "call": emu.incoming_call(validate_e164(request["caller"]))}
    if cmd in ("calls", "forwarding_writes"):
        rows = emu.desk.history if cmd == "calls" else emu.desk.writes
        return {"ok": True, cmd: emu.desk.since(rows, float(request.get("after", 0)))}
    if cmd == "attempts":  # how often each command was tried: for attempt-numbered faults
        return {"ok": True, "attempts": dict(emu.attempts)}
    if cmd == "drop":
        emu.drop_connections()
        return {"ok": True}
    if cmd == "transcript":
        last = int(request.get("last", 50))
        rows = [
            {"t": t, "who": who, "dir": d, "data": data.decode("latin-1")}
            for t, who, d, data in emu.transcript[-last:]
        ]
        return {"ok": True, "transcript": rows}
    return {"ok": False, "error": f"unknown cmd: {cmd!r}"}


async def start_control(emu: ModemEmulator, host: str, port: int) -> asyncio.Server:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(10**6):
                line = await reader.readline()
                if not line:
                    break
                try:
                    request = json.loads(line[:MAX_REQUEST])
                    reply = handle(emu, request)
                except Exception as exc:  # a bad request is answered, never fatal
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    return await asyncio.start_server(on_client, host, port)
