"""The caller generator: calls to the hotline at a steady rate from varying numbers.

Each call is first routed by the emulated network (the emulator's ``call`` control command: the
forwarding in force at that instant), then completed by the dial plan: a real SIP call through
the line's trunk (:func:`lab.sip.place_call`) or the on-call handset. A call the PBX answered is
reported to the controller as a PBX would (``POST /v1/calls`` with a ``pbx`` token, to any node
that answers). Every call becomes one :class:`Call` row for the oracle.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from lab import clock
from lab.dialplan import DialPlan, SipLine
from lab.sip import place_call


@dataclass
class Call:
    n: int
    caller: str
    placed: float  # clock.wall() when the network routed it
    ended: float
    rule: str  # the emulator's routing rule (unconditional, busy, ringing...)
    destination: str | None
    target: str  # "sip:<trunk>", "handset", "nowhere"
    reached: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def control(port: int, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """One request to the emulator's JSON control port."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(json.dumps(request).encode() + b"\n")
        answer: dict[str, Any] = json.loads(s.makefile().readline())
    return answer


@dataclass
class CallerGenerator:
    control_port: int
    plan: DialPlan
    trunk_ports: dict[str, int]  # trunk name → the port callers dial (its impairment relay)
    run: Path
    seed: int
    interval_s: float = 2.0
    hold_s: float = 2.0
    post_event: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self.calls: list[Call] = []
        self._rng = random.Random(self.seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="caller")
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="caller-generator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            n += 1
            caller = f"+4206015{self._rng.randrange(10**5):05d}"
            self._pool.submit(self._one, n, caller)
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _one(self, n: int, caller: str) -> None:
        try:
            entry = control(self.control_port, {"cmd": "call", "caller": caller})["call"]
        except (OSError, ValueError, KeyError) as exc:
            now = clock.wall()
            self._add(Call(n, caller, now, now, "emulator-error", None, "nowhere", False, str(exc)))
            return
        destination = entry["destination"]
        target = self.plan.target(destination)
        if isinstance(target, SipLine):
            port = self.trunk_ports[target.trunk]
            result = place_call(port, target.did, caller, self.run, hold_s=self.hold_s)
            reached, detail, kind = result.reached, result.detail, f"sip:{target.trunk}"
            if reached:
                self._report(entry, caller, target)
        elif isinstance(target, str):
            reached, kind = self.plan.handsets.answers(target), "handset"
            detail = "answered" if reached else "handset off"
        else:
            reached, detail, kind = False, f"not forwarded ({entry['rule']})", "nowhere"
        call = Call(n, caller, float(entry["t"]), clock.wall(), entry["rule"], destination, kind,
                    reached, detail)  # fmt: skip
        self._add(call)

    def _report(self, entry: dict[str, Any], caller: str, line: SipLine) -> None:
        if self.post_event is None:
            return
        start = datetime.fromtimestamp(float(entry["t"]), UTC)
        end = clock.wall_dt()
        event = {
            "call_id": f"lab-{self.seed}-{entry['id']}",
            "caller": caller,
            "start": start.isoformat(),
            "answer": start.isoformat(),
            "end": end.isoformat(),
            "line": line.name,
            "agent": "lab-agent",
        }
        with contextlib.suppress(httpx.HTTPError):  # the oracle does not need the call log
            self.post_event(event)

    def _add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return sorted(self.calls, key=lambda c: c.placed)
