"""What the lab watches while it runs, beside the calls: ZooKeeper's terms, what every node's API
claims, each node's CPU and memory; and the SMTP sink that receives the e-mail alerts.

The terms come from ZooKeeper itself (the epoch record ``{"epoch", "leader"}`` and its
modification time), so the oracle knows who was allowed to write when without asking the nodes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from kazoo.client import KazooClient

from lab import clock
from tests.ha.daemon_lab import TOKEN

EPOCH_PATH = "/hotline/lab/epoch"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Term:
    epoch: int
    leader: str
    since: float  # the epoch record's mtime (ZooKeeper's clock: this machine's wall clock)


@dataclass
class Watch:
    """Polls ZooKeeper, the nodes' ``/v1/status`` and ``/proc`` on a background thread."""

    hosts: tuple[str, ...]
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)  # updated by the runner on restarts
    status_every_s: float = 1.0
    terms: list[Term] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    latency: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        quiet = logging.getLogger("lab.watch.zookeeper")  # its reconnects are the faults' noise
        quiet.setLevel(logging.ERROR)
        extra: dict[str, Any] = {"logger": quiet}  # a KazooClient argument our stub omits
        self._zk = KazooClient(hosts=",".join(self.hosts), timeout=4.0, **extra)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._zk.start_async().wait(10)
        self._thread = threading.Thread(target=self._loop, name="lab-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(Exception):
            self._zk.stop()
            self._zk.close()

    def current_leader(self) -> str | None:
        with self._lock:
            return self.terms[-1].leader if self.terms else None

    def _loop(self) -> None:
        last_status = 0.0
        while not self._stop.is_set():
            self._read_term()
            if time.monotonic() - last_status >= self.status_every_s:
                last_status = time.monotonic()
                self._read_claims()
                self._read_usage()
            self._stop.wait(0.2)

    def _read_term(self) -> None:
        try:
            data, stat = self._zk.get_async(EPOCH_PATH).get(timeout=1.0)
            doc = json.loads(data or b"{}")
        except Exception:  # no quorum, not created yet: the term is unknown right now
            return
        term = Term(int(doc["epoch"]), str(doc.get("leader")), stat.mtime / 1000.0)
        with self._lock:
            if not self.terms or self.terms[-1].epoch != term.epoch:
                self.terms.append(term)

    def _read_claims(self) -> None:
        for node, port in self.ports.items():
            t0 = time.monotonic()
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/v1/status",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=1.5,
                )
                body = r.json() if r.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                continue
            took = time.monotonic() - t0
            if not isinstance(body, dict):
                continue
            active = body.get("active") or {}
            self.latency.append(took)
            self.claims.append(
                {
                    "t": clock.wall(),
                    "node": node,
                    "may_actuate": bool(body.get("may_actuate")),
                    "route": active.get("route"),
                    "verified": bool(active.get("verified")),
                }
            )

    def _read_usage(self) -> None:
        for node, pid in list(self.pids.items()):
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(stat[11]) + int(stat[12])) / CLK_TCK
                rss = int(stat[21]) * PAGE
                self.usage.setdefault(node, []).append((clock.wall(), cpu, rss))


class _Sink:
    def __init__(self) -> None:
        self.mails: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        self.mails.append(
            {"t": clock.wall(), "to": list(envelope.rcpt_tos), "subject": str(msg["Subject"])}
        )
        return "250 OK"


class SmtpSink:
    """aiosmtpd on one fixed port; ``stop()`` and ``start()`` make an SMTP outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = _Sink()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hang(self) -> None:
        """A relay that accepts connections and never says a word (instead of the sink)."""
        self.stop()
        self._silent = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._held: list[socket.socket] = []

        def accept() -> None:
            with contextlib.suppress(OSError):
                for _ in range(10_000):  # bounded: far more connections than a run makes
                    self._held.append(self._silent.accept()[0])

        threading.Thread(target=accept, name="smtp-hung", daemon=True).start()

    def unhang(self) -> None:
        with contextlib.suppress(OSError):
            self._silent.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self._silent.close()
        for conn in self._held:
            conn.close()
        self.start()
