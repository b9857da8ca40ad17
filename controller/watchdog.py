"""systemd's service watchdog, as Patroni uses one: a node whose event loop stops is killed.

``sd_notify(3)`` is one datagram to the ``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a path,
or an abstract name written with a leading ``@``). The daemon sends ``READY=1`` once it serves,
``WATCHDOG=1`` from its event loop (the cluster agent's custody round, every 50 ms, rate-limited
to a quarter of the watchdog interval), ``STOPPING=1`` on its way out. With ``WatchdogSec=W`` in
the unit (``$WATCHDOG_USEC``), systemd kills a process that has not pinged for ``W`` seconds,
frozen (SIGSTOP, a VM pause, a swap storm) or stuck in a blocking call; ``WatchdogSignal=SIGKILL``
kills it even while it is stopped, so it never wakes up to finish a write it started as leader.

The inequality that keeps a frozen leader from acting after another node may lead, with ``T`` the
ZooKeeper session timeout, ``L = lease_fraction × T`` the lease, ``h = L / 4`` the heartbeat::

    max(L, W) + h < T

ZooKeeper last heard from the frozen node at most ``h`` before it froze, so nobody else leads
before ``freeze − h + T``; its lease ends by ``freeze + L`` and systemd kills it by
``freeze + W``. ``check_inequality`` logs an error at start-up when the unit breaks it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from controller.config import HotlineConfig

log = logging.getLogger("hotline.watchdog")


class Watchdog:
    """``sd_notify`` for this process; every method is a no-op outside systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        path = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.interval_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self._last = float("-inf")
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> bool:
        """Send one datagram; False (logged once per kind) when there is no socket or it fails."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as exc:
            log.warning("event=sd_notify_failed message=%s error=%s", message.split("=")[0], exc)
            return False
        self.sent += 1
        return True

    def ready(self) -> None:
        self.notify("READY=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def beat(self, now: float | None = None) -> None:
        """Called from the event loop; pings at most every quarter of the interval."""
        if self.interval_s is None:
            return
        now = time.monotonic() if now is None else now
        if now - self._last >= self.interval_s / 4:
            self._last = now
            self.notify("WATCHDOG=1")


def check_inequality(watchdog_s: float | None, session_s: float, lease_s: float) -> str | None:
    """Why the unit's watchdog is unsafe for this session timeout; None when it is safe (or
    there is no watchdog: then a frozen leader is stopped by its lease and ``kickolduser``)."""
    heartbeat = max(0.05, lease_s / 4)
    if watchdog_s is None:
        return None
    if max(lease_s, watchdog_s) + heartbeat >= session_s:
        return (
            f"WatchdogSec={watchdog_s:g}s, lease {lease_s:g}s and heartbeat {heartbeat:g}s break "
            f"max(lease, WatchdogSec) + heartbeat < session timeout ({session_s:g}s): a frozen "
            "leader could outlive its session"
        )
    return None


def warn_if_unsafe(cfg: HotlineConfig, watchdog: Watchdog) -> None:
    """Log ``event=watchdog_unsafe`` when the unit's WatchdogSec breaks the inequality."""
    zk = cfg.coordination.zookeeper
    if cfg.coordination.backend != "zookeeper" or zk is None:
        return
    session = zk.session_timeout_s
    why = check_inequality(watchdog.interval_s, session, zk.lease_fraction * session)
    if why is not None:
        log.error("event=watchdog_unsafe %s", why)
    elif watchdog.interval_s is not None:
        log.info("event=watchdog interval_s=%g session_s=%g", watchdog.interval_s, session)
