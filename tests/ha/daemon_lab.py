"""Three ``hotline run`` daemons on one ZooKeeper ensemble and ONE ``hotline modem-sim``.

With ``ser2net=True`` the emulator serves a pty and real ser2net 4 serves that pty over TCP with
``kickolduser`` (as deploy/ansible does); each daemon reaches it through its own relay
(tests/ha/relay.py), which records when that node opened the modem. ``latency_s`` is the
emulated network's time per operation (+CCFC, +CMGS...): 0.5 s is realistic.

Components are probed with ``command`` probes that fail while a flag file exists, so a test breaks
a trunk for every node at once by touching a file (no SIP peers needed here: the HA behaviour is
under test, not the probes). The emulator appends every byte in and out to a transcript file;
``ccfc_writes()`` returns the forwarding writes with their time and connection.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.ha.relay import Relays
from tests.support.modem_sim import modem_sim_argv
from tests.support.waiting import poll
from tests.support.zk_lab import free_ports

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "lab-operator-token-001"


def lab_dict() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    return data


def child(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = dict(env if env is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            env=env,
            start_new_session=True,
        )


@dataclass
class DaemonLab:
    tmp: Path
    zk_hosts: tuple[str, ...]
    names: tuple[str, ...] = ("node-1", "node-2", "node-3")
    session_s: float = 2.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    sim: subprocess.Popen[bytes] | None = None
    latency_s: float = 0.02
    ser2net: bool = False
    kick: bool = True  # ser2net kickolduser
    notify: bool = False  # the lab's notifier (SMS through the modem), the modem's real probe
    relays: Relays | None = None
    ser2net_proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        p = free_ports(2 + len(self.names))
        self.modem_port, self.control_port = p[0], p[1]
        self.ports = dict(zip(self.names, p[2:], strict=True))
        self.flags = self.tmp / "flags"
        self.flags.mkdir(parents=True, exist_ok=True)
        self.transcript_path = self.tmp / "modem-transcript.log"

    # ---- peers -------------------------------------------------------------------------------
    def start_modem(self) -> None:
        env = dict(os.environ, LAB_PIN="1234")
        pty = self.tmp / "modem-pty"
        tcp = ["--listen", f"127.0.0.1:{self.modem_port}"]
        serve = ["--pty", str(pty)] if self.ser2net else tcp
        self.sim = child(
            modem_sim_argv(
                serve=serve,
                control_port=self.control_port,
                latency_s=self.latency_s,
                transcript=self.transcript_path,
            ),
            self.tmp / "modem-sim.log",
            env,
        )
        self.wait("the modem-sim control port", lambda: self.control({"cmd": "get_state"}), 30)
        if self.ser2net:
            self._start_ser2net(pty)

    def _start_ser2net(self, pty: Path) -> None:
        conf = self.tmp / "ser2net.yaml"
        conf.write_text(
            "%YAML 1.1\n---\nconnection: &modem\n"
            f"  accepter: tcp,127.0.0.1,{self.modem_port}\n  enable: on\n  options:\n"
            f"    kickolduser: {'true' if self.kick else 'false'}\n"
            f"  connector: serialdev,{pty},115200n81,local\n"
        )
        argv = ["ser2net", "-n", "-d", "-c", str(conf), "-P", str(self.tmp / "ser2net.pid")]
        self.ser2net_proc = child(argv, self.tmp / "ser2net.log")

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", self.modem_port), timeout=1):
                return True

        self.wait("ser2net's port", listening, 10)
        self.relays = Relays(self.modem_port, self.names)

    def modem_opens(self, name: str, after: float = 0.0) -> list[float]:
        """When ``name`` opened a connection to the modem (ser2net lab only)."""
        assert self.relays is not None
        return self.relays.relays[name].opens(after)

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            answer: dict[str, Any] = json.loads(s.makefile().readline())
        return answer

    def outbox(self) -> list[dict[str, Any]]:
        """Every SMS the modem sent (the notifier's alerts)."""
        sent: list[dict[str, Any]] = self.control({"cmd": "get_state"})["state"]["outbox"]
        return sent

    def forwarded_to(self) -> str | None:
        fwd = self.control({"cmd": "get_state"})["state"]["forwarding"]["unconditional"]
        return fwd["number"] if fwd["active"] else None

    def ccfc_writes(self) -> list[tuple[float, str, str]]:
        """(time, connection, command) of every +CCFC *write* the modem received."""
        out: list[tuple[float, str, str]] = []
        if not self.transcript_path.exists():
            return out
        for line in self.transcript_path.read_text(errors="replace").splitlines():
            t, who, direction, data = line.split(" ", 3)
            if direction != "<":  # bytes the modem received
                continue
            text = ast.literal_eval(data).decode("latin-1")
            if "+CCFC=0,3," in text:  # unconditional, registration: a forwarding write
                out.append((float(t), who, text.strip()))
        return out

    def break_(self, component: str) -> None:
        (self.flags / component).touch()

    def restore(self, component: str) -> None:
        (self.flags / component).unlink(missing_ok=True)

    # ---- daemons -----------------------------------------------------------------------------
    def config(self, name: str) -> Path:
        data = lab_dict()
        data["node"] = {"name": name, "state_dir": str(self.tmp / name)}
        port = self.relays.relays[name].port if self.relays is not None else self.modem_port
        data["hotline"]["modem"]["url"] = f"socket://127.0.0.1:{port}"
        data["hotline"]["modem"]["network_timeout_s"] = 5
        for comp in data["components"]:
            if self.notify and comp == "modem":
                data["components"][comp].update(interval_s=2, timeout_s=2, rise=1, fall=2)
                continue  # the real probe: a follower's "held by the leader" must not page
            data["components"][comp]["probes"] = [
                {"type": "command", "argv": ["/bin/sh", "-c", f"test ! -e {self.flags / comp}"]}
            ]
            data["components"][comp].update(interval_s=0.3, timeout_s=0.3, rise=1, fall=1)
        data["failover"]["failback_hold_s"] = 1
        data["failover"]["flap_max_switches"] = 50
        data["coordination"] = {
            "backend": "zookeeper",
            "zookeeper": {
                "hosts": list(self.zk_hosts),
                "path": "/hotline/lab",
                "session_timeout_s": self.session_s,
            },
        }
        data["api"]["listen"] = f"127.0.0.1:{self.ports[name]}"
        notifier = data.pop("notifier", {})
        notifier.pop("smtp", None)  # SMS through the modem only
        data["notifier"] = notifier if self.notify else {"enabled": False}
        data["actuators"] = [{"type": "modem", "retries": 1, "backoff_s": 0.2, "timeout_s": 10}]
        data["reconcile"] = {
            "interval_s": 0.2,
            "drift_check_s": 30,
            "retry_failed_s": 2,
            "action_wait_s": 20,
            "shutdown_grace_s": 10,
        }
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def start(self, name: str | None = None) -> None:
        for n in [name] if name else self.names:
            self.procs[n] = child(
                [sys.executable, "-m", "controller", "run", "--config", str(self.config(n))],
                self.tmp / f"{n}.log",
            )
        for n in [name] if name else self.names:
            self.wait(f"{n}'s API", lambda n=n: self.get(n, "/healthz")[0] == 200, 40)

    def get(self, name: str, path: str) -> tuple[int, Any]:
        r = httpx.get(
            f"http://127.0.0.1:{self.ports[name]}{path}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=3,
        )
        return r.status_code, (r.json() if r.content else None)

    def post(self, name: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        r = httpx.post(
            f"http://127.0.0.1:{self.ports[name]}{path}",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        return r.status_code, (r.json() if r.content else None)

    def leaders(self) -> list[str]:
        """Nodes whose ``GET /leader`` answers 200 (stopped or dead nodes do not answer)."""
        out = []
        for n, p in self.procs.items():
            if p.poll() is not None:
                continue
            try:
                if self.get(n, "/leader")[0] == 200:
                    out.append(n)
            except httpx.HTTPError:
                continue
        return out

    def one_leader(self, timeout: float, exclude: str | None = None) -> str:
        def check() -> str | None:
            got = self.leaders()
            return got[0] if len(got) == 1 and got[0] != exclude else None

        return str(self.wait(f"exactly one leader (not {exclude})", check, timeout))

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.killpg(self.procs[name].pid, sig)

    def wait(self, what: str, check: Any, timeout: float) -> Any:
        def logs() -> str:
            tails = {
                n: (self.tmp / f"{n}.log").read_text(errors="replace")[-3000:] for n in self.procs
            }
            return f"logs: {tails}"

        return poll(what, check, timeout, interval=0.05, context=logs)

    def close(self) -> None:
        if self.relays is not None:
            self.relays.close()
        for p in [*self.procs.values(), self.ser2net_proc, self.sim]:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGCONT)
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
