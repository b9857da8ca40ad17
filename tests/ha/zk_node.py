"""A minimal HA node for tests and the fail-over benchmark: one ZooKeeperCoordinator, one fake
actuator that appends to a shared transcript, and a status file.

Run as ``python3 tests/ha/zk_node.py --hosts H1,H2 --path /hotline/x --name n1 --dir DIR``.
Every ``--period`` seconds, a node that believes it leads does what the reconcile loop must do
before each actuation step: ``check_fence()``, then ``may_actuate()``, then the step itself — here
one JSON line appended (O_APPEND, one write) to ``DIR/transcript.jsonl``, standing in for the
AT+CCFC write the modem emulator would record. A refused fence is recorded too. ``DIR/<name>.json``
holds the node's status (leader, may_actuate, epoch), replaced atomically at every loop.
SIGTERM makes the node leave (hand-over) and exit 0. The loop is bounded by ``--max-s``.
Times (``t``) are ``time.monotonic()``: one clock for every process on the host, so the tests
compare them across processes without depending on the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from controller.config import ZooKeeperSettings
from controller.coordination.base import CoordinationError
from controller.coordination.zookeeper import ZooKeeperCoordinator


def append(path: Path, record: dict[str, object]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


def write_status(path: Path, coord: ZooKeeperCoordinator) -> None:
    doc = {
        "node": coord.node,
        "leader": coord.is_leader(),
        "may": coord.may_actuate(),
        "epoch": coord.epoch(),
        "leader_name": coord.leader_name(),
        "connected": coord.connected(),
        "t": time.monotonic(),
        "pid": os.getpid(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(path)


async def actuate_once(coord: ZooKeeperCoordinator, transcript: Path) -> None:
    if not coord.is_leader():
        return
    epoch = coord.epoch()
    try:
        await coord.check_fence()
    except CoordinationError as exc:
        append(
            transcript,
            {"t": time.monotonic(), "node": coord.node, "epoch": epoch, "refused": str(exc)},
        )
        return
    if coord.may_actuate():
        append(
            transcript,
            {"t": time.monotonic(), "node": coord.node, "epoch": coord.epoch(), "act": "+CCFC"},
        )


async def main(args: argparse.Namespace) -> int:
    settings = ZooKeeperSettings(
        hosts=tuple(args.hosts.split(",")), path=args.path, session_timeout_s=args.session
    )
    coord = ZooKeeperCoordinator(settings, args.name)
    out = Path(args.dir)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await coord.start()
    deadline = time.monotonic() + args.max_s
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            await actuate_once(coord, out / "transcript.jsonl")
            write_status(out / f"{args.name}.json", coord)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.period)
    finally:
        await coord.handover()
        await coord.stop()
        write_status(out / f"{args.name}.json", coord)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--session", type=float, default=2.0)
    p.add_argument("--period", type=float, default=0.05)
    p.add_argument("--max-s", type=float, default=120.0)
    sys.exit(asyncio.run(main(p.parse_args())))
