"""One ``hotline run`` daemon and ``hotline modem-sim`` at seconds per network operation, for
killing the daemon with SIGKILL in the middle of a forwarding change and watching the restart.

Components are probed by ``command`` probes that fail while a flag file exists (the recovery is
under test, not the probes). The emulator appends every byte to a transcript file;
:meth:`CrashLab.ccfc_ops` reads the +CCFC operations the modem received from it, and
:meth:`CrashLab.kill_during` waits in that transcript for a write (or its read-back) to be in
flight, then kills the daemon's whole session.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.controller.e2e_lab import _PINNED, AT
from tests.controller.helpers import lab_dict
from tests.support.modem_sim import PIN_ENV, modem_sim_argv
from tests.support.waiting import poll

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "lab-operator-token-001"
PRIMARY, SECONDARY = "+420212000001", "+420212000002"
NUMBERS = {PRIMARY: "primary", SECONDARY: "secondary"}
T = TypeVar("T")


@dataclass(frozen=True)
class Op:
    """One +CCFC operation the modem received: ``query`` or ``write`` (with its number)."""

    at: float
    kind: str
    number: str | None = None

    def __str__(self) -> str:
        return self.kind if self.number is None else f"{self.kind} {NUMBERS[self.number]}"


def ops_text(ops: list[Op]) -> str:
    """``query, write secondary, query`` with the seconds from the first."""
    start = ops[0].at if ops else 0.0
    return ", ".join(f"{o} (+{o.at - start:.1f}s)" for o in ops) or "none"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent, env=env,
            start_new_session=True,
        )  # fmt: skip


def wait_for(what: str, check: Callable[[], T | None], timeout: float, log: Path) -> T:
    return poll(what, check, timeout, context=lambda: f"log: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


class CrashLab:
    def __init__(self, tmp: Path, latency_s: float) -> None:
        self.tmp, self.latency_s = tmp, latency_s
        self.modem_port, self.control_port, self.api_port = _free_port(), _free_port(), _free_port()
        self.transcript = tmp / "modem-transcript.log"
        self.flags = tmp / "flags"
        self.flags.mkdir(parents=True, exist_ok=True)
        self.log = tmp / "daemon.log"
        self.sim: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self._started = time.monotonic()

    # ---- the modem -------------------------------------------------------------------------
    def start_modem(self) -> None:
        argv = modem_sim_argv(
            serve=["--listen", f"127.0.0.1:{self.modem_port}"],
            control_port=self.control_port,
            latency_s=self.latency_s,
            transcript=self.transcript,
        )
        self.sim = _child(argv, self.tmp / "modem-sim.log", {**os.environ, PIN_ENV: "1234"})
        ready = lambda: self.control({"cmd": "get_state"})  # noqa: E731
        wait_for("the modem-sim control port", ready, 30, self.tmp / "modem-sim.log")

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            answer: dict[str, Any] = json.loads(s.makefile().readline())
        return answer

    def forwarded_to(self) -> str | None:
        fwd = self.control({"cmd": "get_state"})["state"]["forwarding"]["unconditional"]
        return fwd["number"] if fwd["active"] else None

    def ccfc_ops(self, since: float = 0.0) -> list[Op]:
        """The +CCFC queries and unconditional writes the modem received after ``since``."""
        ops: list[Op] = []
        if not self.transcript.exists():
            return ops
        for line in self.transcript.read_text(errors="replace").splitlines():
            t, _, direction, data = line.split(" ", 3)
            if direction != "<" or float(t) <= since:
                continue
            text = ast.literal_eval(data).decode("latin-1")
            if "+CCFC=0,2" in text:
                ops.append(Op(float(t), "query"))
            elif "+CCFC=0,3," in text:
                number = text.split('"')[1]
                ops.append(Op(float(t), "write", number if number in NUMBERS else None))
        return ops

    # ---- the daemon ------------------------------------------------------------------------
    def config(self) -> Path:
        data = lab_dict()
        data["node"] = {"name": "crash-1", "state_dir": str(self.tmp / "state")}
        modem = data["hotline"]["modem"]
        modem.update(url=f"socket://127.0.0.1:{self.modem_port}", network_timeout_s=30)
        for name, comp in data["components"].items():
            flag = self.flags / name
            comp["probes"] = [{"type": "command", "argv": ["/bin/sh", "-c", f"test ! -e {flag}"]}]
            comp.update(interval_s=0.3, timeout_s=0.3, rise=1, fall=1)
        data["failover"]["failback_hold_s"] = 1
        data["failover"]["flap_max_switches"] = 50
        data["api"]["listen"] = f"127.0.0.1:{self.api_port}"
        data["notifier"] = {"enabled": False}
        op = 2 * self.latency_s + 10  # a write and its read-back
        data["actuators"] = [{"type": "modem", "retries": 1, "backoff_s": 0.2, "timeout_s": op}]
        data["reconcile"] = {
            "interval_s": 0.2,
            "drift_check_s": 600,  # no drift check inside a measured window
            "retry_failed_s": 2,
            "action_wait_s": 30,
            "shutdown_grace_s": 30,
        }
        path = self.tmp / "crash.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def start_daemon(self) -> float:
        """Start ``hotline run``; returns the wall time it was started at (the transcript's)."""
        wall = time.time()
        instant = (AT + timedelta(seconds=time.monotonic() - self._started)).isoformat()
        argv = [sys.executable, "-c", _PINNED, instant, "run", "--config", str(self.config())]
        self.daemon = _child(argv, self.log, dict(os.environ))
        return wall

    def kill_during(self, kind: str, number: str, timeout: float = 60) -> None:
        """SIGKILL the daemon while the write of ``number`` (``kind="write"``) or the query that
        reads it back (``kind="readback"``) is in flight: half an operation after it was sent.
        Only operations from now on count."""
        since = time.time()

        def in_flight() -> bool:
            ops = self.ccfc_ops(since)
            writes = [i for i, o in enumerate(ops) if o.kind == "write" and o.number == number]
            if not writes:
                return False
            return kind == "write" or any(o.kind == "query" for o in ops[writes[-1] + 1 :])

        wait_for(f"the {kind} of {number} in flight", in_flight, timeout, self.log)
        time.sleep(self.latency_s / 2)
        self.kill()

    def kill(self) -> None:
        proc, self.daemon = self.daemon, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def status(self) -> dict[str, Any]:
        r = httpx.get(
            f"http://127.0.0.1:{self.api_port}/v1/status",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def verified(self, route: str) -> bool:
        a = self.status()["active"]
        return bool(a["route"] == route and a["verified"] and not a["failed"])

    def wait_verified(self, route: str, timeout: float = 60) -> float:
        """Wait until ``/v1/status`` shows ``route`` verified; the wall time it was seen."""
        wait_for(f"{route} verified", lambda: self.verified(route), timeout, self.log)
        return time.time()

    def events(self) -> list[dict[str, Any]]:
        r = httpx.get(
            f"http://127.0.0.1:{self.api_port}/v1/events?limit=200",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        r.raise_for_status()
        body: list[dict[str, Any]] = r.json()
        return body

    def break_(self, component: str) -> None:
        (self.flags / component).touch()

    def restore(self, component: str) -> None:
        (self.flags / component).unlink(missing_ok=True)

    def settle(self) -> str | None:
        """After a kill: wait out an operation the modem may still finish; what it holds then."""
        time.sleep(self.latency_s + 0.3)
        return self.forwarded_to()

    def close(self) -> None:
        self.kill()
        sim, self.sim = self.sim, None
        if sim is not None and sim.poll() is None:
            os.killpg(sim.pid, signal.SIGTERM)
            try:
                sim.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(sim.pid, signal.SIGKILL)
                sim.wait(5)
