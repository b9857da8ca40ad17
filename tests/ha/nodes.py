"""Three HA node processes (tests/ha/zk_node.py) against one ensemble, and what they report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NODE_SCRIPT = Path(__file__).with_name("zk_node.py")


@dataclass
class NodeCluster:
    hosts: tuple[str, ...]
    path: str
    dir: Path
    names: tuple[str, ...] = ("n1", "n2", "n3")
    session_s: float = 2.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str | None = None) -> None:
        for n in [name] if name else self.names:
            log = (self.dir / f"{n}.log").open("ab")
            self.procs[n] = subprocess.Popen(
                [
                    sys.executable,
                    str(NODE_SCRIPT),
                    "--hosts",
                    ",".join(self.hosts),
                    "--path",
                    self.path,
                    "--name",
                    n,
                    "--dir",
                    str(self.dir),
                    "--session",
                    str(self.session_s),
                    "--max-s",
                    "120",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()

    def status(self, name: str) -> dict[str, Any]:
        try:
            return dict(json.loads((self.dir / f"{name}.json").read_text()))
        except (OSError, ValueError):
            return {}

    def alive(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def leaders(self, fresh_s: float = 0.5) -> list[str]:
        """Live nodes whose status (updated within ``fresh_s``) says they may actuate."""
        now = time.monotonic()  # the nodes stamp their status on the (system-wide) monotonic clock
        out = []
        for n in self.alive():
            st = self.status(n)
            if st.get("may") and now - float(st.get("t", 0)) < fresh_s:
                out.append(n)
        return out

    def wait_one_leader(
        self, timeout: float, exclude: str | None = None, stable_s: float = 0.5
    ) -> str:
        """The single leader, once exactly one live node has led for ``stable_s``."""
        deadline = time.monotonic() + timeout
        seen: str | None = None
        since = 0.0
        while time.monotonic() < deadline:
            leaders = [n for n in self.leaders() if n != exclude]
            current = leaders[0] if len(leaders) == 1 and len(self.leaders()) == 1 else None
            if current != seen:
                seen, since = current, time.monotonic()
            if seen is not None and time.monotonic() - since >= stable_s:
                return seen
            time.sleep(0.02)
        raise AssertionError(
            f"no single stable leader within {timeout}s: {[self.status(n) for n in self.names]}"
        )

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.kill(self.procs[name].pid, sig)

    def transcript(self) -> list[dict[str, Any]]:
        path = self.dir / "transcript.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def stale_actuations(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Actuations written after one with a higher epoch: what fencing must make impossible."""
    highest = 0
    stale = []
    for r in records:
        if "act" not in r:
            continue
        if r["epoch"] < highest:
            stale.append(r)
        highest = max(highest, r["epoch"])
    return stale
