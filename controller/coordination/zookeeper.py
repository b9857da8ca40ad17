"""ZooKeeper coordination: one leader per cluster path, a fencing epoch, a lease on our own clock.

Layout under ``settings.path`` (e.g. ``/hotline/prod``)::

    election/n-0000000042   ephemeral sequential, data = node name; the lowest leads
    epoch                   {"epoch": 7, "leader": "node-2", "znode": "n-...", "at": ...}
    state/<key>             JSON documents (route, change, override, pause, incidents...)
    intents/i-..., results/i-...   followers' writes, executed by the leader (zk_intents)
    views/<node>            ephemeral, each node's own health view (zk_intents)
    members/<node>          ephemeral, each node's member record (``hotline cluster``)

Why our own election rather than kazoo's ``Election``/``Lock`` recipes: those block a thread in
``run()``/``acquire()`` and hide the znode, while we need the znode's name to fence (the epoch
record names it, and taking a term is a transaction that checks it still exists), a quick
hand-over (delete it), and every call under a deadline on the asyncio loop.

The pieces: this module answers the protocol; ``zk_term`` keeps this node's standing (session,
term, lease), ``zk_election`` runs the campaign, ``zk_state`` the shared state, ``zk_intents``
the intents and views, ``zk_bridge`` every kazoo call under a deadline.

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
from collections.abc import Callable
from typing import TypeVar

from kazoo.client import KazooClient, TransactionRequest
from kazoo.retry import KazooRetry

from controller.config import ZooKeeperSettings
from controller.coordination.base import CoordinationError, Coordinator, IntentHandler, JsonDoc
from controller.coordination.zk_acl import Credentials
from controller.coordination.zk_bridge import KazooBridge, Start, ZkConflict, decode
from controller.coordination.zk_election import Campaign
from controller.coordination.zk_intents import IntentBox
from controller.coordination.zk_state import SharedState
from controller.coordination.zk_term import Standing

log = logging.getLogger("hotline.coordination.zk")

T = TypeVar("T")


class ZooKeeperCoordinator:
    """The ``Coordinator`` protocol on a ZooKeeper ensemble; see the module docstring."""

    def __init__(self, settings: ZooKeeperSettings, node: str) -> None:
        self.settings = settings
        self.node = node
        root = settings.path.rstrip("/")
        self.paths = {
            k: f"{root}/{k}"
            for k in (
                "election",
                "epoch",
                "state",
                "intents",
                "results",
                "views",
                "members",
            )
        }
        self.lease_s = settings.lease_fraction * settings.session_timeout_s
        self.heartbeat_s = max(0.05, self.lease_s / 4)
        self.deadline_s = min(settings.call_timeout_s, self.lease_s / 2)
        self.client: KazooClient | None = None
        self.credentials: Credentials | None = None
        """With ``settings.auth``: the digest identity and the ACL of every znode we create."""
        self.bridge: KazooBridge | None = None
        self._task: asyncio.Task[None] | None = None
        self.standing = Standing(node, self.lease_s)
        self.intents = IntentBox(self)
        self.state = SharedState(self)
        self.campaign = Campaign(self)
        self.transitions = self.standing.transitions
        """(monotonic time, what happened, may_actuate right after): for status and tests."""

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background and start campaigning; never blocks on an absent ensemble.

        Raises ``CoordinationError`` when ``auth`` names a password that cannot be read."""
        loop = asyncio.get_running_loop()
        if self.settings.auth is not None:
            try:
                self.credentials = Credentials(self.settings.auth)
            except ValueError as exc:
                raise CoordinationError(f"coordination.zookeeper.auth: {exc}") from None
        creds = self.credentials
        self.bridge = KazooBridge(loop)
        retry = KazooRetry(
            max_tries=-1, delay=0.05, backoff=1.5, max_delay=1.0, ignore_expire=False
        )
        self.client = KazooClient(
            hosts=",".join(self.settings.hosts),
            timeout=self.settings.session_timeout_s,
            connection_retry=retry,
            command_retry=None,
            auth_data=None if creds is None else creds.auth_data,
            default_acl=None if creds is None else creds.acl,
        )
        self.client.add_listener(lambda state: self._from_kazoo(loop, state))
        connected = self.client.start_async()
        # Wait (bounded) for the first session so start-up reads find ZooKeeper; without one we
        # still start, as a follower that keeps trying in the background.
        await asyncio.to_thread(connected.wait, self.settings.session_timeout_s)
        self._task = asyncio.create_task(self.campaign.run(), name=f"zk-campaign-{self.node}")
        log.info(
            "zk.start node=%s hosts=%s path=%s session_s=%g lease_s=%.2f auth=%s",
            self.node,
            ",".join(self.settings.hosts),
            self.settings.path,
            self.settings.session_timeout_s,
            self.lease_s,
            "none" if creds is None else f"digest:{creds.username}",
        )

    async def stop(self) -> None:
        """Leave: give up leadership (the next node takes over in one watch round trip)."""
        me = self.standing
        me.stopping = True
        me.drop("stopping")
        await self.intents.close()
        if self._task is not None:
            self.campaign.wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if me.znode is not None and me.connected:
            try:
                await self.call(lambda c: c.delete_async(self.campaign.election_path()), "leave")
            except CoordinationError as exc:
                log.info(
                    "zk.leave node=%s not deleted (%s); the session close removes it",
                    self.node,
                    exc,
                )
        client, self.client = self.client, None
        if client is not None:
            await asyncio.to_thread(_close_client, client)
        me.connected = False
        log.info("zk.stop node=%s", self.node)

    # ---- the protocol's questions ------------------------------------------------------------

    def is_leader(self) -> bool:
        return self.standing.leader

    def may_actuate(self) -> bool:
        """Leader, connected, and the lease (on our own monotonic clock) still running."""
        return self.standing.may_actuate()

    def lease_remaining(self) -> float:
        return self.standing.lease_remaining()

    def epoch(self) -> int:
        return self.standing.epoch

    def cluster_epoch(self) -> int:
        """The newest term known here (``epoch()`` is this node's own last term)."""
        return max(self.standing.epoch, self.state.seen_epoch)

    def leader_name(self) -> str | None:
        me = self.standing
        return self.node if me.leader else me.leader_name

    def connected(self) -> bool:
        return self.standing.connected

    def quorum_lost_since(self) -> float | None:
        """Monotonic time since which no ZooKeeper round trip has succeeded; None while they do.

        The last-resort rule's clock: a node that cannot reach a quorum sees this grow.
        """
        return self.standing.lost_since

    def server(self) -> str | None:
        """The ZooKeeper server ("host:port") this session talks to now, for status and tests."""
        try:
            sock = self.client._connection._socket if self.client else None
            host, port = sock.getpeername()[:2] if sock is not None else (None, None)
        except (AttributeError, OSError):
            return None
        return None if host is None else f"{host}:{port}"

    def local_address(self) -> str | None:
        """This node's own address on the path to ZooKeeper (its API address when it listens on
        every interface), None when not connected."""
        try:
            sock = self.client._connection._socket if self.client else None
            return None if sock is None else str(sock.getsockname()[0])
        except (AttributeError, OSError):
            return None

    def term_started(self) -> float | None:
        """Monotonic time this node's current term began; None when it does not lead.

        A new leader must not act on health it gathered as a follower: the reconcile loop waits
        for a probe round that completed after this instant before its first actuation.
        """
        me = self.standing
        return me.term_started if me.leader else None

    async def check_fence(self) -> None:
        """Raise ``CoordinationError`` unless ZooKeeper confirms, now, that our term is current.

        ``sync`` first so the read is not served stale by a lagging server; the three requests are
        pipelined (ZooKeeper answers a session's requests in order) under one deadline.
        """
        me = self.standing
        if not me.leader or not me.connected:
            raise CoordinationError("not the leader" if not me.leader else "not connected")
        sent = time.monotonic()
        znode, epoch = me.znode, me.epoch
        sync = self.call(lambda c: c.sync_async(self.paths["epoch"]), "fence sync")
        read = self.call(lambda c: c.get_async(self.paths["epoch"]), "fence read")
        mine = self.call(lambda c: c.exists_async(self.campaign.election_path()), "fence exists")
        try:
            _, (data, _stat), exists = await asyncio.gather(sync, read, mine)
        except CoordinationError:
            me.confirmed = None
            raise
        doc = decode(data) or {}
        if doc.get("epoch") != epoch or doc.get("znode") != znode or exists is None:
            me.drop(f"fenced: epoch record is {doc.get('epoch')} by {doc.get('leader')}")
            raise CoordinationError(f"fenced: epoch {epoch} is no longer current")
        me.fence_passed(epoch, sent)

    async def handover(self) -> None:
        """Give up leadership on purpose: the next candidate leads within one watch round trip."""
        me = self.standing
        if not me.leader or me.znode is None:
            return
        old = self.campaign.election_path()
        me.drop("hand-over")
        me.znode = None  # the campaign queues us again at the back
        with contextlib.suppress(ZkConflict):
            await self.call(lambda c: c.delete_async(old), "hand-over")
        log.info("zk.handover node=%s epoch=%d", self.node, me.epoch)
        self.campaign.wake.set()

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

    async def publish_member(self, doc: JsonDoc) -> None:
        await self.intents.publish("members", doc)

    async def members(self) -> dict[str, JsonDoc]:
        return await self.intents.read_all("members")

    def session_state(self) -> str:
        """connected / suspended / lost / not started, for ``hotline cluster``."""
        return "not started" if self.client is None else self.standing.session

    # ---- plumbing ----------------------------------------------------------------------------

    async def call(
        self, start: Start[T], what: str, deadline_s: float | None = None, idempotent: bool = False
    ) -> T:
        """One kazoo ``*_async`` call, ``start(client)``, under a deadline."""
        client, bridge = self.client, self.bridge
        if client is None or bridge is None:
            raise CoordinationError(f"{what}: coordinator not started")
        return await bridge.call(
            lambda: start(client), what, deadline_s or self.deadline_s, idempotent
        )

    async def read(self, start: Start[T], what: str) -> T:
        """A read: re-sent after a connection hiccup, within the one deadline."""
        return await self.call(start, what, idempotent=True)

    async def transaction(
        self, fill: Callable[[TransactionRequest], None], what: str
    ) -> list[object]:
        client, bridge = self.client, self.bridge
        if client is None or bridge is None:
            raise CoordinationError(f"{what}: coordinator not started")
        return await bridge.transaction(fill, client, what, self.deadline_s)

    def fence_version(self) -> int | None:
        """The epoch znode's version of our term, for fenced transactions; None if not leading."""
        me = self.standing
        return me.epoch_version if me.leader else None

    # ---- session events (kazoo thread → our loop) --------------------------------------------

    def _from_kazoo(self, loop: asyncio.AbstractEventLoop, state: str) -> None:
        """kazoo's listener: runs on kazoo's thread, must not block; hands over to our loop."""
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            loop.call_soon_threadsafe(self._on_state, state)

    def _on_state(self, state: str) -> None:
        self.standing.on_session(state)
        self.campaign.wake.set()

    def step_down(self, why: str) -> None:
        """Stop leading now (a fenced write or read showed that our term is over)."""
        self.standing.drop(why)


def _close_client(client: KazooClient) -> None:
    try:
        client.stop()
    finally:
        client.close()


_IS_A_COORDINATOR: type[Coordinator] = ZooKeeperCoordinator  # mypy checks the whole protocol
