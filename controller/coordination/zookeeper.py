"""ZooKeeper coordination: one leader per cluster path, a fencing epoch, a lease on our own clock.

Layout under ``settings.path`` (e.g. ``/hotline/prod``)::

    election/n-0000000042   ephemeral sequential, data = node name; the lowest leads
    epoch                   {"epoch": 7, "leader": "node-2", "znode": "n-...", "at": ...}
    state/<key>             JSON documents (route, change, override, pause, incidents...)
    intents/i-..., results/i-...   followers' writes, executed by the leader (zk_intents)
    views/<node>            ephemeral, each node's own health view (zk_intents)

Why our own election rather than kazoo's ``Election``/``Lock`` recipes: those block a thread in
``run()``/``acquire()`` and hide the znode, while we need the znode's name to fence (the epoch
record names it, and taking a term is a transaction that checks it still exists), a quick
hand-over (delete it), and every call under a deadline on the asyncio loop.

Safety, in three layers:

1. *Session state.* kazoo reports CONNECTED / SUSPENDED / LOST on its thread; they arrive on our
   loop via ``call_soon_threadsafe``. SUSPENDED drops the lease at once: we stop actuating the
   moment the connection wobbles, and resume only after a fresh round trip shows that our znode
   is still the lowest and the epoch record still names us.
2. *Lease.* Leadership counts only until ``confirmed + lease`` (monotonic clock), where
   ``confirmed`` is when the last successful round trip was *sent* and ``lease`` is
   ``lease_fraction`` × the session timeout. ZooKeeper cannot expire our session, and so cannot
   let another node lead, before ``confirmed + session timeout``; a client learns of its own
   expiry only after it reconnects, so the lease is what stops a node cut off (or paused by
   SIGSTOP) from believing it still leads. The clock is monotonic, so a paused process wakes up
   with its lease already expired.
3. *Epoch.* A new leader bumps ``epoch`` in a transaction that also checks its election znode
   still exists. ``check_fence()`` re-reads it (after a ``sync``) before every actuation step,
   and the leader's state writes are transactions that check the epoch's version, so a deposed
   leader can neither actuate (it fails the fence) nor overwrite the new leader's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.retry import KazooRetry

from controller.config import ZooKeeperSettings
from controller.coordination.base import CoordinationError, IntentHandler, JsonDoc
from controller.coordination.zk_bridge import KazooBridge, ZkConflict, decode, encode
from controller.coordination.zk_intents import IntentBox
from controller.coordination.zk_state import SharedState

log = logging.getLogger("hotline.coordination.zk")

PREFIX = "n-"


class ZooKeeperCoordinator:
    """The ``Coordinator`` protocol on a ZooKeeper ensemble; see the module docstring."""

    def __init__(self, settings: ZooKeeperSettings, node: str) -> None:
        self.settings = settings
        self.node = node
        root = settings.path.rstrip("/")
        self.paths = {
            k: f"{root}/{k}" for k in ("election", "epoch", "state", "intents", "results", "views")
        }
        self.lease_s = settings.lease_fraction * settings.session_timeout_s
        self.heartbeat_s = max(0.05, self.lease_s / 4)
        self.deadline_s = min(settings.call_timeout_s, self.lease_s / 2)
        self.client: KazooClient | None = None
        self._bridge: KazooBridge | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._connected = False
        self._znode: str | None = None
        self._leader = False
        self._leader_name: str | None = None
        self._names: dict[str, str] = {}  # election znode → node name (immutable, so cached)
        self._epoch = 0
        self._epoch_version = -1
        self._confirmed: float | None = None  # monotonic time the last good round trip was sent
        self._term_started: float | None = None
        self._lost_since: float | None = time.monotonic()  # no confirmed round trip yet
        self.intents = IntentBox(self)
        self.state = SharedState(self)
        self.transitions: deque[tuple[float, str, bool]] = deque(maxlen=100)
        """(monotonic time, what happened, may_actuate right after): for status and tests."""

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background and start campaigning; never blocks on an absent ensemble."""
        loop = asyncio.get_running_loop()
        self._bridge = KazooBridge(loop)
        retry = KazooRetry(
            max_tries=-1, delay=0.05, backoff=1.5, max_delay=1.0, ignore_expire=False
        )
        self.client = KazooClient(
            hosts=",".join(self.settings.hosts),
            timeout=self.settings.session_timeout_s,
            connection_retry=retry,
            command_retry=None,
        )
        self.client.add_listener(lambda state: self._from_kazoo(loop, state))
        connected = self.client.start_async()
        # Wait (bounded) for the first session so start-up reads find ZooKeeper; without one we
        # still start, as a follower that keeps trying in the background.
        await asyncio.to_thread(connected.wait, self.settings.session_timeout_s)
        self._task = asyncio.create_task(self._campaign(), name=f"zk-campaign-{self.node}")
        log.info(
            "zk.start node=%s hosts=%s path=%s session_s=%g lease_s=%.2f",
            self.node,
            ",".join(self.settings.hosts),
            self.settings.path,
            self.settings.session_timeout_s,
            self.lease_s,
        )

    async def stop(self) -> None:
        """Leave: give up leadership (the next node takes over in one watch round trip)."""
        self._stopping = True
        self._drop("stopping")
        await self.intents.close()
        if self._task is not None:
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._znode is not None and self._connected:
            try:
                await self.call(lambda c: c.delete_async(self._election_path()), "leave")
            except CoordinationError as exc:
                log.info(
                    "zk.leave node=%s not deleted (%s); the session close removes it",
                    self.node,
                    exc,
                )
        client, self.client = self.client, None
        if client is not None:
            await asyncio.to_thread(_close_client, client)
        self._connected = False
        log.info("zk.stop node=%s", self.node)

    # ---- the protocol's questions ------------------------------------------------------------

    def is_leader(self) -> bool:
        return self._leader

    def may_actuate(self) -> bool:
        """Leader, connected, and the lease (on our own monotonic clock) still running."""
        return self._leader and self._connected and self.lease_remaining() > 0

    def lease_remaining(self) -> float:
        if self._confirmed is None:
            return 0.0
        return self._confirmed + self.lease_s - time.monotonic()

    def epoch(self) -> int:
        return self._epoch

    def cluster_epoch(self) -> int:
        """The newest term known here (``epoch()`` is this node's own last term)."""
        return max(self._epoch, self.state.seen_epoch)

    def leader_name(self) -> str | None:
        return self.node if self._leader else self._leader_name

    def connected(self) -> bool:
        return self._connected

    def quorum_lost_since(self) -> float | None:
        """Monotonic time since which no ZooKeeper round trip has succeeded; None while they do.

        The last-resort rule's clock: a node that cannot reach a quorum sees this grow.
        """
        return self._lost_since

    def server(self) -> str | None:
        """The ZooKeeper server ("host:port") this session talks to now, for status and tests."""
        try:
            sock = self.client._connection._socket if self.client else None
            host, port = sock.getpeername()[:2] if sock is not None else (None, None)
        except (AttributeError, OSError):
            return None
        return None if host is None else f"{host}:{port}"

    def term_started(self) -> float | None:
        """Monotonic time this node's current term began; None when it does not lead.

        A new leader must not act on health it gathered as a follower: the reconcile loop waits
        for a probe round that completed after this instant before its first actuation.
        """
        return self._term_started if self._leader else None

    async def check_fence(self) -> None:
        """Raise ``CoordinationError`` unless ZooKeeper confirms, now, that our term is current.

        ``sync`` first so the read is not served stale by a lagging server; the three requests are
        pipelined (ZooKeeper answers a session's requests in order) under one deadline.
        """
        if not self._leader or not self._connected:
            raise CoordinationError("not the leader" if not self._leader else "not connected")
        sent = time.monotonic()
        znode, epoch = self._znode, self._epoch
        sync = self.call(lambda c: c.sync_async(self.paths["epoch"]), "fence sync")
        read = self.call(lambda c: c.get_async(self.paths["epoch"]), "fence read")
        mine = self.call(lambda c: c.exists_async(self._election_path()), "fence exists")
        try:
            _, (data, _stat), exists = await asyncio.gather(sync, read, mine)
        except CoordinationError:
            self._confirmed = None
            raise
        doc = decode(data) or {}
        if doc.get("epoch") != epoch or doc.get("znode") != znode or exists is None:
            self._drop(f"fenced: epoch record is {doc.get('epoch')} by {doc.get('leader')}")
            raise CoordinationError(f"fenced: epoch {epoch} is no longer current")
        if self._leader and self._epoch == epoch and self._connected:
            self._confirmed = max(self._confirmed or 0.0, sent)

    async def handover(self) -> None:
        """Give up leadership on purpose: the next candidate leads within one watch round trip."""
        if not self._leader or self._znode is None:
            return
        old = self._election_path()
        self._drop("hand-over")
        self._znode = None  # the campaign queues us again at the back
        with contextlib.suppress(ZkConflict):
            await self.call(lambda c: c.delete_async(old), "hand-over")
        log.info("zk.handover node=%s epoch=%d", self.node, self._epoch)
        self._wake.set()

    # ---- shared state (see zk_state) ----------------------------------------------------------

    async def get(self, key: str) -> JsonDoc | None:
        return await self.state.get(key)

    async def put(self, key: str, value: JsonDoc | None) -> None:
        """Only the leader writes, fenced by its epoch; followers use ``submit_intent``."""
        await self.state.put(key, value)

    # ---- intents and views (see zk_intents) --------------------------------------------------

    def set_intent_handler(self, handler: IntentHandler | None) -> None:
        self.intents.handler = handler

    async def submit_intent(self, doc: JsonDoc, timeout_s: float = 30.0) -> JsonDoc:
        return await self.intents.submit(doc, timeout_s)

    async def publish_view(self, doc: JsonDoc) -> None:
        await self.intents.publish_view(doc)

    async def views(self) -> dict[str, JsonDoc]:
        return await self.intents.views()

    # ---- plumbing ----------------------------------------------------------------------------

    async def call(
        self, start: Any, what: str, deadline_s: float | None = None, idempotent: bool = False
    ) -> Any:
        """One kazoo ``*_async`` call, ``start(client)``, under a deadline."""
        client, bridge = self.client, self._bridge
        if client is None or bridge is None:
            raise CoordinationError(f"{what}: coordinator not started")
        return await bridge.call(
            lambda: start(client), what, deadline_s or self.deadline_s, idempotent
        )

    async def read(self, start: Any, what: str) -> Any:
        """A read: re-sent after a connection hiccup, within the one deadline."""
        return await self.call(start, what, idempotent=True)

    async def transaction(self, fill: Any, what: str) -> list[Any]:
        client, bridge = self.client, self._bridge
        if client is None or bridge is None:
            raise CoordinationError(f"{what}: coordinator not started")
        return await bridge.transaction(fill, client, what, self.deadline_s)

    def fence_version(self) -> int | None:
        """The epoch znode's version of our term, for fenced transactions; None if not leading."""
        return self._epoch_version if self._leader else None

    def _election_path(self) -> str:
        return f"{self.paths['election']}/{self._znode}"

    # ---- session events (kazoo thread → our loop) --------------------------------------------

    def _from_kazoo(self, loop: asyncio.AbstractEventLoop, state: str) -> None:
        """kazoo's listener: runs on kazoo's thread, must not block; hands over to our loop."""
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            loop.call_soon_threadsafe(self._on_state, state)

    def _on_state(self, state: str) -> None:
        if state == KazooState.CONNECTED:
            self._connected = True
            log.info("zk.session state=connected node=%s", self.node)
        elif state == KazooState.SUSPENDED:
            self._connected = False
            self._confirmed = None  # stop actuating now; resume only after a fresh confirmation
            self._lost_since = self._lost_since or time.monotonic()
            log.warning("zk.session state=suspended node=%s leader=%s", self.node, self._leader)
        elif state == KazooState.LOST:
            self._connected = False
            self._znode = None  # ephemeral nodes died with the session
            self._lost_since = self._lost_since or time.monotonic()
            self._drop("session lost")
            (log.info if self._stopping else log.error)("zk.session state=lost node=%s", self.node)
        self._note(str(state).lower())
        self._wake.set()

    def _note(self, what: str) -> None:
        self.transitions.append((time.monotonic(), what, self.may_actuate()))

    def step_down(self, why: str) -> None:
        """Stop leading now (a fenced write or read showed that our term is over)."""
        self._drop(why)

    def _drop(self, why: str) -> None:
        if self._leader:
            log.warning("zk.leadership lost node=%s epoch=%d why=%s", self.node, self._epoch, why)
        was = self._leader
        self._leader = False
        self._confirmed = None
        self._term_started = None
        if was:
            self._note(f"lost: {why}")

    # ---- the campaign ------------------------------------------------------------------------

    async def _campaign(self) -> None:
        """Heartbeat loop: join the election, watch it, renew the lease; bounded per round."""
        while not self._stopping:
            self._wake.clear()
            try:
                if self._connected:
                    await self._round()
                    self._lost_since = None
            except CoordinationError as exc:
                self._confirmed = None
                self._lost_since = self._lost_since or time.monotonic()
                log.warning("zk.round node=%s failed: %s", self.node, exc)
            except Exception:
                self._confirmed = None
                self._lost_since = self._lost_since or time.monotonic()
                log.exception("zk.round node=%s crashed; retrying", self.node)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.heartbeat_s)

    async def _round(self) -> None:
        sent = time.monotonic()
        if self._znode is None:
            await self._join()
        watch = self._watch
        children = await self.call(
            lambda c: c.get_children_async(self.paths["election"], watch=watch), "election"
        )
        candidates = sorted(c for c in children if c.startswith(PREFIX))
        if self._znode not in candidates:
            self._znode = None
            self._drop("election node vanished")
            self._wake.set()
            return
        first = candidates[0]
        if first != self._znode:
            if self._leader:
                self._drop(f"{first} leads now")
            self._leader_name = await self._name_of(first)
            await self.state.note_epoch()
            return
        if not self._leader:
            await self._take_term(sent)
        else:
            data, stat = await self.call(lambda c: c.get_async(self.paths["epoch"]), "epoch")
            doc = decode(data) or {}
            if stat.version != self._epoch_version or doc.get("znode") != self._znode:
                self._drop(f"epoch record moved to {doc.get('epoch')}")
                return
            if not self._connected:  # answered across a reconnect: confirm once CONNECTED is in
                return
            if self._confirmed is None:
                self._confirmed = sent
                self._note("reconfirmed")
            self._confirmed = max(self._confirmed, sent)
        await self.intents.serve()

    async def _join(self) -> None:
        for key in ("election", "state", "intents", "results", "views"):
            path = self.paths[key]
            await self.call(lambda c, p=path: c.ensure_path_async(p), f"ensure {key}")
        try:
            await self.call(
                lambda c: c.create_async(self.paths["epoch"], encode({"epoch": 0})), "create epoch"
            )
        except ZkConflict as exc:
            if exc.kind != "exists":
                raise
        name = await self.call(
            lambda c: c.create_async(
                f"{self.paths['election']}/{PREFIX}",
                self.node.encode(),
                ephemeral=True,
                sequence=True,
            ),
            "join election",
        )
        self._znode = name.rsplit("/", 1)[-1]
        self._names[self._znode] = self.node
        log.info("zk.join node=%s znode=%s", self.node, self._znode)

    async def _take_term(self, sent: float) -> None:
        """Bump the epoch, in one transaction with a check that our election znode exists."""
        data, stat = await self.call(lambda c: c.get_async(self.paths["epoch"]), "epoch")
        new = int((decode(data) or {}).get("epoch", 0)) + 1
        record = {
            "epoch": new,
            "leader": self.node,
            "znode": self._znode,
            "at": datetime.now(UTC).isoformat(),
        }
        mine = self._election_path()

        def fill(txn: Any) -> None:
            txn.check(mine, 0)
            txn.set_data(self.paths["epoch"], encode(record), stat.version)

        results = await self.transaction(fill, "take term")
        self._epoch, self._epoch_version = new, results[1].version
        self._leader, self._leader_name = True, self.node
        self._term_started = sent
        self._confirmed = sent
        log.warning("zk.leadership won node=%s epoch=%d", self.node, new)
        self._note(f"won epoch {new}")

    async def _name_of(self, znode: str) -> str | None:
        if znode not in self._names:
            path = f"{self.paths['election']}/{znode}"
            try:
                data, _ = await self.call(lambda c: c.get_async(path), "leader name")
            except ZkConflict:
                return None
            self._names[znode] = data.decode(errors="replace")
            if len(self._names) > 64:
                self._names = {znode: self._names[znode]}
        return self._names[znode]

    def _watch(self, _event: Any) -> None:
        """Election children changed (kazoo thread): run a round now instead of at the timer."""
        bridge = self._bridge
        if bridge is not None:
            with contextlib.suppress(RuntimeError):
                bridge.loop.call_soon_threadsafe(self._wake.set)


def _close_client(client: KazooClient) -> None:
    try:
        client.stop()
    finally:
        client.close()


def make_coordinator(cfg: Any, state_dir: Any) -> ZooKeeperCoordinator:
    """The daemon's factory (``controller.daemon.make_coordinator``); ZooKeeper keeps no local
    state, so ``state_dir`` is unused."""
    zk = cfg.coordination.zookeeper
    if zk is None:
        raise CoordinationError("coordination.backend is zookeeper but no zookeeper: section")
    return ZooKeeperCoordinator(zk, cfg.node.name)
