"""The end-to-end lab for the daemon: ``hotline modem-sim`` with its control port, one sipp per
trunk/PBX node, a real Kamailio, and ``hotline run`` — all child processes on loopback, in a temp
dir, each in its own session and stopped at the end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.controller.helpers import lab_dict
from tests.controller.kamailio_peer import GW_A, GW_B, Kamailio, start_kamailio
from tests.support.modem_sim import modem_sim_argv

ROOT = Path(__file__).resolve().parents[2]
SIPP_SCENARIO = Path(__file__).with_name("sipp_options_200.xml")
TOKEN = "lab-operator-token-001"
T = TypeVar("T")

AT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
"""The daemon's wall clock when the lab starts: a Wednesday, far from the Monday 09:00 hand-over,
in a week alice is on call (examples/lab.yaml's rotation). The daemon's clock runs on from here
(``E2ELab.now``), across restarts, so no run depends on today's date."""

_PINNED = (
    "import runpy, sys, time_machine\n"
    "from datetime import datetime\n"
    "time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()\n"
    "sys.argv = ['hotline', *sys.argv[2:]]\n"
    "runpy.run_module('controller', run_name='__main__', alter_sys=True)\n"
)
"""``python -c _PINNED ISO-INSTANT ARGS...``: ``hotline ARGS...`` with the wall clock at the instant
(ticking; the monotonic clock, asyncio's, is untouched)."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, httpx.HTTPError, KeyError, ValueError):
            last = None
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def _child(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = dict(env if env is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            env=env,
            start_new_session=True,
        )


def _end(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    if sig == signal.SIGKILL:  # the child's whole session: no orphaned actuator scripts
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class E2ELab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sip_ports = {
            n: free_port(socket.SOCK_DGRAM) for n in ("trunk-a", "trunk-b", "pbx-1", "pbx-2")
        }
        self.modem_port, self.control_port = free_port(), free_port()
        self.api_port = free_port()
        self.sipps: dict[str, subprocess.Popen[bytes] | None] = {}
        self.sim: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.kamailio: Kamailio | None = None
        self.command_log = tmp / "command.log"
        self.slow_flag = tmp / "slow"  # the command step hangs (for kill -9 mid-switch)
        self.brief_flag = tmp / "brief"  # the command step takes 3 s (for SIGTERM mid-switch)
        self.url = f"http://127.0.0.1:{self.api_port}"
        self._started = time.monotonic()

    def now(self) -> datetime:
        """The daemon's wall clock now (``AT`` when the lab was made, running since)."""
        return AT + timedelta(seconds=time.monotonic() - self._started)

    # ---- peers ---------------------------------------------------------------------------
    def start_peers(self) -> None:
        self.kamailio = start_kamailio(self.tmp)
        env = dict(os.environ, LAB_PIN="1234")
        self.sim = _child(
            modem_sim_argv(
                serve=["--listen", f"127.0.0.1:{self.modem_port}"],
                control_port=self.control_port,
                latency_s=0.05,
            ),
            self.tmp / "modem-sim.log",
            env,
        )
        for name in self.sip_ports:
            self.restore(name)
        wait_for("the modem-sim control port", lambda: self.modem_state())

    def break_(self, name: str) -> None:
        _end(self.sipps.pop(name, None), signal.SIGKILL)

    def restore(self, name: str) -> None:
        sipp = shutil.which("sipp") or "sipp"
        self.sipps[name] = _child(
            [
                sipp,
                "-sf",
                str(SIPP_SCENARIO),
                "-i",
                "127.0.0.1",
                "-p",
                str(self.sip_ports[name]),
                "-cp",
                str(free_port(socket.SOCK_DGRAM)),
                "-t",
                "u1",
                "-nostdin",
                "-timeout",
                "600s",
            ],
            self.tmp / f"sipp-{name}.log",
        )

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            line = s.makefile().readline()
        answer: dict[str, Any] = json.loads(line)
        return answer

    def modem_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.control({"cmd": "get_state"})["state"]
        return state

    def forwarded_to(self) -> str | None:
        fwd = self.modem_state()["forwarding"]["unconditional"]
        return fwd["number"] if fwd["active"] else None

    def gateway_flags(self) -> dict[str, str]:
        assert self.kamailio is not None
        res: Any = self.kamailio.rpc("dispatcher.list")
        targets = res["result"]["RECORDS"][0]["SET"]["TARGETS"]
        return {t["DEST"]["URI"]: t["DEST"]["FLAGS"][:1] for t in targets}

    # ---- the daemon ----------------------------------------------------------------------
    def write_config(self) -> Path:
        data = lab_dict()
        data["node"] = {"name": "e2e-1", "state_dir": str(self.tmp / "state")}
        data["hotline"]["modem"]["url"] = f"socket://127.0.0.1:{self.modem_port}"
        data["hotline"]["modem"]["network_timeout_s"] = 10
        for name, port in self.sip_ports.items():
            data["components"][name]["probes"][0]["uri"] = f"sip:127.0.0.1:{port};transport=udp"
        data["components"]["modem"]["interval_s"] = 2
        data["components"]["modem"]["timeout_s"] = 2
        data["api"]["listen"] = f"127.0.0.1:{self.api_port}"
        data["failover"]["failback_hold_s"] = 2
        data["failover"]["flap_max_switches"] = 50
        data.pop("notifier", None)
        data["notifier"] = {"enabled": False}
        data["reconcile"] = {
            "interval_s": 0.2,
            "drift_check_s": 1.5,
            "retry_failed_s": 2,
            "action_wait_s": 30,
            "shutdown_grace_s": 30,
        }
        script = (
            f'echo "$HOTLINE_ROUTE $HOTLINE_NUMBER $HOTLINE_EPOCH" >> {self.command_log}; '
            f"if [ -e {self.slow_flag} ]; then sleep 30; fi; "
            f"if [ -e {self.brief_flag} ]; then sleep 3; fi"
        )
        assert self.kamailio is not None
        data["actuators"] = [
            {"type": "modem", "retries": 1, "backoff_s": 0.2, "timeout_s": 20},
            {
                "type": "kamailio",
                "url": self.kamailio.url,
                "set_id": 1,
                "retries": 1,
                "backoff_s": 0.2,
                "gateways": {"primary": [GW_A], "secondary": [GW_B]},
            },
            {
                "type": "command",
                "name": "pbx-script",
                "argv": ["/bin/sh", "-c", script],
                "timeout_s": 60,
                "retries": 0,
            },
        ]
        path = self.tmp / "e2e.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def start_daemon(self) -> None:
        cfg = self.write_config()
        self.daemon = _child(
            [sys.executable, "-c", _PINNED, self.now().isoformat(), "run", "--config", str(cfg)],
            self.tmp / "daemon.log",
        )
        wait_for("the daemon's API", lambda: self.api("GET", "/readyz")[0] == 200, 30)

    def stop_daemon(self, sig: int = signal.SIGTERM) -> int | None:
        proc, self.daemon = self.daemon, None
        _end(proc, sig)
        return None if proc is None else proc.returncode

    def api(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        r = httpx.request(
            method, self.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60, **kw
        )
        return r.status_code, (r.json() if r.content else None)

    def status(self) -> dict[str, Any]:
        code, body = self.api("GET", "/v1/status")
        assert code == 200, body
        result: dict[str, Any] = body
        return result

    def verified(self, route: str) -> dict[str, Any] | None:
        st = self.status()
        a = st["active"]
        return st if a["route"] == route and a["verified"] and not a["failed"] else None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, HOTLINE_URL=self.url, HOTLINE_TOKEN=TOKEN)
        return subprocess.run(
            [sys.executable, "-m", "controller", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            cwd=ROOT,
        )

    def log(self) -> str:
        return (self.tmp / "daemon.log").read_text(errors="replace")

    def close(self) -> None:
        self.stop_daemon(signal.SIGKILL)
        for name in list(self.sipps):
            self.break_(name)
        _end(self.sim)
        if self.kamailio is not None:
            self.kamailio.stop()
