"""Every node's part in the cluster's one truth: its member record, the modem's custody, and the
shared read-back record; what ``/v1/status``, ``/v1/cluster`` and ``hotline cluster`` show of it.

``ClusterAgent.run`` is a daemon side task on every node, leader or not:

- *custody* (every ``CUSTODY_EVERY_S``): a node that may no longer hold the modem (deposed,
  lease lapsed) closes it at once; a node that may actuate opens it as soon as it may, so its
  first switch does not wait for the init sequence. Together with the link's own gate
  (``AtLink.may_connect``) the modem is opened only by the node allowed to act.
- *member record* (every ``MEMBER_EVERY_S``): role, may-actuate, epoch, session, who holds the
  modem, the API address, and, on the leader, its decision; published ephemeral through the
  coordinator, read back from every node for ``/v1/status`` and ``/v1/cluster``.
- *a new term*: the moment this node may actuate it probes every component once (``on_term``,
  the monitor's ``probe_now``) and wakes the loop: the leader view trusts only probes of this
  term, so the first decision needs no wait for the next scheduled probe round.
- *read-back record*: the leader stores the modem's last read-back (number, when, node, epoch)
  under the shared key ``modem``, so a follower and the next leader know who wrote the route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from controller.clock import Clock, utcnow
from controller.config import HotlineConfig
from controller.coordination.base import CoordinationError, Coordinator, JsonDoc
from controller.daemon_api import split_listen
from controller.loop.lastresort import LastResortWatch
from controller.loop.parts import SnapshotSource, classify
from controller.loop.reconcile import Reconciler
from modem.device import ModemDevice, Readback

log = logging.getLogger("hotline.cluster")

CUSTODY_EVERY_S = 0.05
MEMBER_EVERY_S = 0.5
OPEN_RETRY_S = 2.0
MODEM_KEY = "modem"


@dataclass
class ClusterCache:
    """What this node last read of the cluster (members, the shared read-back record)."""

    members: dict[str, JsonDoc] = field(default_factory=dict)
    modem: JsonDoc | None = None
    as_of: datetime | None = None
    error: str | None = None


@dataclass
class LastResortSeen:
    number: str
    at: datetime


class ClusterAgent:
    def __init__(
        self,
        cfg: HotlineConfig,
        coordinator: Coordinator,
        link: ModemDevice | None,
        loop: Reconciler,
        last_resort: LastResortWatch | None = None,
        clock: Clock = utcnow,
        on_term: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.cfg, self.coord, self.link, self.loop = cfg, coordinator, link, loop
        self.last_resort = last_resort
        self.clock = clock
        self.node = cfg.node.name
        self.cache = ClusterCache()
        self.fired: LastResortSeen | None = None
        self._shared: Readback | None = None  # the read-back last stored under MODEM_KEY
        self._opening: asyncio.Task[None] | None = None
        self._on_term = on_term
        self._acting = False
        self._term_task: asyncio.Task[None] | None = None
        self._open_failed_at = -OPEN_RETRY_S
        self.ticks = 0

    # ---- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, beat: Callable[[], None] | None = None) -> None:
        """Custody (and the watchdog's ping) every ``CUSTODY_EVERY_S``; the member exchange
        beside it in its own task, so a ZooKeeper call waiting for its deadline delays neither."""
        exchange = asyncio.create_task(self._exchange_loop(stop), name="cluster-exchange")
        try:
            while not stop.is_set():
                try:
                    await self.custody()
                    self._note_last_resort()
                except Exception:  # a bug guard: the task must keep custody of the modem
                    log.exception("cluster agent round failed")
                self.ticks += 1
                if beat is not None:
                    beat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=CUSTODY_EVERY_S)
        finally:
            for task in (exchange, self._opening, self._term_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _exchange_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.exchange()
            except Exception:
                log.exception("cluster exchange failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=MEMBER_EVERY_S)

    async def custody(self) -> None:
        acting = self.coord.may_actuate()
        if acting and not self._acting and self._term_task is None:
            self._term_task = asyncio.create_task(self._new_term(), name="new-term")
        self._acting = acting
        link = self.link
        if link is None:
            return
        if await link.release_if_barred():
            log.warning("event=modem_released node=%s reason=may-not-act", self.node)
            return
        if not self.coord.may_actuate() or link.is_open() or self._opening is not None:
            return
        if time.monotonic() - self._open_failed_at < OPEN_RETRY_S:
            return
        self._opening = asyncio.create_task(self._open(link), name="modem-open")

    async def _open(self, link: ModemDevice) -> None:
        started = time.monotonic()
        try:
            await link.open()
            took = time.monotonic() - started
            log.info("event=modem_opened node=%s took_s=%.2f", self.node, took)
        except Exception as exc:  # the loop's own use reports it; retry later
            self._open_failed_at = time.monotonic()
            log.info("event=modem_open_failed node=%s error=%s", self.node, type(exc).__name__)
        finally:
            self._opening = None

    async def _new_term(self) -> None:
        """Probe now and wake the loop, so the first decision of the term is not kept waiting."""
        try:
            if self._on_term is not None:
                await asyncio.wait_for(self._on_term(), timeout=10)
        except Exception as exc:  # the scheduled probes carry on regardless
            log.info("event=term_probe_failed node=%s error=%s", self.node, type(exc).__name__)
        finally:
            self._term_task = None
        self.loop.wake()

    def _note_last_resort(self) -> None:
        fired = self.last_resort.runner.fired_to if self.last_resort is not None else None
        if fired is None:
            self.fired = None
        elif self.fired is None or self.fired.number != fired:
            self.fired = LastResortSeen(fired, self.clock())

    async def exchange(self) -> None:
        """Publish our member record, store the leader's read-back, read everyone's."""
        try:
            await self.coord.publish_member(self.member_doc())
            await self._share_readback()
            members = await self.coord.members()
            modem = await self.coord.get(MODEM_KEY)
        except CoordinationError as exc:
            self.cache.error = f"cannot read the cluster: {exc}"[:300]
            return
        self.cache = ClusterCache(members, modem, self.clock(), None)

    async def _share_readback(self) -> None:
        """The leader's last read-back, and the last write it or an earlier leader made."""
        seen = self.link.last_readback if self.link is not None else None
        if seen is None or seen == self._shared or not self.coord.may_actuate():
            return
        doc: JsonDoc = {
            "number": seen.number,
            "route": classify(self.cfg, seen.number),
            "at": seen.at.isoformat(),
            "wrote": seen.wrote,
            "node": self.node,
            "epoch": self.coord.epoch(),
        }
        if seen.wrote:
            doc["write"] = {k: doc[k] for k in ("number", "at", "node", "epoch")}
        else:  # keep the last write, whoever made it (read now: a new leader's cache is old)
            doc["write"] = (await self.coord.get(MODEM_KEY) or {}).get("write")
        await self.coord.put(MODEM_KEY, doc)
        self._shared = seen

    # ---- what this node says about itself ------------------------------------------------------

    def role(self) -> str:
        if self.coord.may_actuate():
            return "leader"
        if self.fired is not None:
            return "last-resort"
        return "deposed" if self.coord.is_leader() else "follower"

    def member_doc(self) -> JsonDoc:
        view, coord = self.loop.view, self.coord
        doc: JsonDoc = {
            "node": self.node,
            "role": self.role(),
            "may_actuate": coord.may_actuate(),
            "epoch": coord.epoch(),
            "session": session_state(coord),
            "zk_server": zk_server(coord),
            "holds_modem": self.link is not None and self.link.is_open(),
            "api": self.api_url(),
            "at": self.clock().isoformat(),
        }
        if coord.may_actuate() and view.decision is not None:
            doc["decision"] = {
                "desired": None if view.desired is None else str(view.desired),
                "reason": view.decision.reason,
                "conditions": sorted(str(c) for c in view.decision.conditions),
            }
        return doc

    def api_url(self) -> str:
        host, port = split_listen(self.cfg.api.listen)
        if host in ("", "0.0.0.0", "::"):  # listening on every interface
            host = local_address(self.coord) or "127.0.0.1"
        scheme = "https" if self.cfg.api.tls else "http"
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"

    # ---- what this node knows of the others ----------------------------------------------------

    def leader(self) -> str | None:
        """The node that may actuate, as far as this node knows now: itself when it may, else
        the election's leader while ZooKeeper answers (None without a quorum)."""
        if self.coord.may_actuate():
            return self.node
        if self.coord.quorum_lost_since() is not None:
            return None
        name = self.coord.leader_name()
        return None if name == self.node else name

    def acting_leader(self) -> JsonDoc | None:
        """The leader's member record (ourselves included), when it says it may actuate."""
        name = self.leader()
        if name == self.node:
            return self.member_doc()
        doc = self.cache.members.get(name) if name is not None else None
        return doc if doc is not None and doc.get("may_actuate") else None


def term_probe(
    monitor: object, view: SnapshotSource | None
) -> Callable[[], Awaitable[object]] | None:
    """A new term's first probe round, right away: the leader view's baseline for the term
    first (so these samples count as the term's own), then every component once. None unless
    ``monitor`` is the daemon's ``HealthMonitor`` (a test's fixed source has nothing to probe)."""
    from health.monitor import HealthMonitor

    if not isinstance(monitor, HealthMonitor):
        return None
    probe_now = monitor.probe_now

    async def probe() -> object:
        if view is not None:
            view.snapshot()
        return await probe_now()

    return probe


def session_state(coord: Coordinator) -> str:
    from controller.coordination.local import LocalCoordinator

    if isinstance(coord, LocalCoordinator):
        return "local"
    from controller.coordination.zookeeper import ZooKeeperCoordinator

    return coord.session_state() if isinstance(coord, ZooKeeperCoordinator) else "unknown"


def zk_server(coord: Coordinator) -> str | None:
    from controller.coordination.zookeeper import ZooKeeperCoordinator

    return coord.server() if isinstance(coord, ZooKeeperCoordinator) else None


def local_address(coord: Coordinator) -> str | None:
    from controller.coordination.zookeeper import ZooKeeperCoordinator

    return coord.local_address() if isinstance(coord, ZooKeeperCoordinator) else None
