"""The systemd watchdog: sd_notify datagrams to a real ``$NOTIFY_SOCKET``, from a real daemon.

systemd is not PID 1 in the test container, so ``systemd-run`` cannot host the daemon; the test
binds the notify socket itself and plays systemd's part: it reads READY=1 and the WATCHDOG=1
pings of a ``hotline run`` process given ``WATCHDOG_USEC``, freezes the process (SIGSTOP), sees
the pings stop, and kills it once ``WatchdogSec`` has passed without one, as systemd would with
``WatchdogSignal=SIGKILL``.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.watchdog import Watchdog, check_inequality, warn_if_unsafe
from tests.controller.helpers import lab_config
from tests.ha.daemon_lab import DaemonLab, child
from tests.support.zk_lab import ZkEnsemble


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    try:
        yield sock, path
    finally:
        sock.close()


def received(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """Every datagram within ``seconds`` (bounded by time)."""
    out: list[tuple[float, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            continue
    return out


def test_pings_are_rate_limited_to_a_quarter_of_the_interval(
    notify: tuple[socket.socket, str],
) -> None:
    sock, path = notify
    dog = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
    dog.ready()
    for i in range(100):  # a beat every 10 ms of virtual time, for 1 s
        dog.beat(now=i * 0.01)
    got = [m for _, m in received(sock, 0.2)]
    assert got[0] == "READY=1"
    assert got[1:] == ["WATCHDOG=1"] * 4  # at 0, 0.25, 0.5, 0.75 s


def test_no_socket_no_interval_or_another_pid_means_no_pings(
    notify: tuple[socket.socket, str],
) -> None:
    sock, path = notify
    assert not Watchdog({}).notify("READY=1")
    other = Watchdog({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    other.beat(now=0.0)
    assert other.interval_s is None and received(sock, 0.1) == []
    abstract = Watchdog({"NOTIFY_SOCKET": "@hotline-test-none"})
    assert abstract.address.startswith("\0") and not abstract.notify("READY=1")


@pytest.mark.parametrize(
    ("watchdog_s", "session_s", "safe"),
    [(None, 2.0, True), (1.0, 2.0, True), (1.8, 2.0, False), (4.0, 6.0, True), (5.5, 6.0, False)],
)
def test_the_inequality(watchdog_s: float | None, session_s: float, safe: bool) -> None:
    assert (check_inequality(watchdog_s, session_s, 0.6 * session_s) is None) is safe


def test_an_unsafe_unit_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    zk = {"hosts": ["127.0.0.1:2181"], "path": "/hotline/t", "session_timeout_s": 2.0}
    cfg = lab_config(
        node={"name": "n1", "state_dir": str(tmp_path)},
        coordination={"backend": "zookeeper", "zookeeper": zk},
    )
    with caplog.at_level(logging.INFO, "hotline.watchdog"):
        warn_if_unsafe(cfg, Watchdog({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1900000"}))
    assert "event=watchdog_unsafe" in caplog.text


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_frozen_daemon_stops_pinging_and_is_killed(
    zk1: ZkEnsemble, tmp_path: Path, notify: tuple[socket.socket, str]
) -> None:
    sock, path = notify
    lab = DaemonLab(tmp_path / "lab", zk1.hosts, names=("node-1",))
    lab.start_modem()
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    argv = [sys.executable, "-m", "controller", "run", "--config", str(lab.config("node-1"))]
    proc = child(argv, lab.tmp / "node-1.log", env)
    lab.procs["node-1"] = proc
    try:

        def ready() -> bool:
            return any(m == "READY=1" for _, m in received(sock, 0.2))

        assert lab.wait("READY=1", ready, 40)
        pings = [t for t, m in received(sock, 2.0) if m == "WATCHDOG=1"]
        assert len(pings) >= 6, pings  # every 0.25 s while the loop runs
        assert max(b - a for a, b in itertools.pairwise(pings)) < 0.6
        os.killpg(proc.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        silent = [t for t, m in received(sock, 1.2) if m == "WATCHDOG=1" and t > frozen + 0.1]
        assert silent == [], "a frozen process must not ping"
        # systemd's part: WatchdogSec (1 s) without a ping → SIGKILL, which a stopped process
        # cannot ignore; it never wakes up to act on a lease it no longer holds.
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        lab.close()
