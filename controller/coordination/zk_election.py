"""The campaign: join the election, watch it, take a term, renew the lease; one round at a time.

Runs as one task per ``ZooKeeperCoordinator`` (see its module docstring for the layout and the
safety layers). Each round is bounded by the coordinator's call deadline and ends by serving the
pending intents while we lead; rounds run every heartbeat, or at once when the election's
children change (the watch) or a session event arrives (``wake``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kazoo.client import TransactionRequest
from kazoo.protocol.states import WatchedEvent, ZnodeStat

from controller.coordination.base import CoordinationError
from controller.coordination.zk_acl import secure_tree
from controller.coordination.zk_bridge import ZkConflict, decode, encode, ensure_path

if TYPE_CHECKING:
    from controller.coordination.zookeeper import ZooKeeperCoordinator

log = logging.getLogger("hotline.coordination.zk")

PREFIX = "n-"


class Campaign:
    def __init__(self, coord: ZooKeeperCoordinator) -> None:
        self.coord = coord
        self.wake = asyncio.Event()
        self._names: dict[str, str] = {}  # election znode → node name (immutable, so cached)

    def election_path(self) -> str:
        return f"{self.coord.paths['election']}/{self.coord.standing.znode}"

    async def run(self) -> None:
        """Heartbeat loop: join the election, watch it, renew the lease; bounded per round."""
        me = self.coord.standing
        while not me.stopping:
            self.wake.clear()
            try:
                if me.connected:
                    await self._round()
                    me.round_ok()
            except CoordinationError as exc:
                me.round_failed()
                log.warning("zk.round node=%s failed: %s", me.node, exc)
            except Exception:
                me.round_failed()
                log.exception("zk.round node=%s crashed; retrying", me.node)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.coord.heartbeat_s)

    async def _round(self) -> None:
        c, me = self.coord, self.coord.standing
        sent = time.monotonic()
        if me.znode is None:
            await self._join()
        watch = self.watch
        children = await c.call(
            lambda k: k.get_children_async(c.paths["election"], watch=watch), "election"
        )
        candidates = sorted(n for n in children if n.startswith(PREFIX))
        if me.znode not in candidates:
            me.znode = None
            me.drop("election node vanished")
            self.wake.set()
            return
        first = candidates[0]
        if first != me.znode:
            if me.leader:
                me.drop(f"{first} leads now")
            me.leader_name = await self._name_of(first)
            await c.state.note_epoch()
            return
        if not me.leader:
            await self._take_term(sent)
        else:
            data, stat = await c.call(lambda k: k.get_async(c.paths["epoch"]), "epoch")
            doc = decode(data) or {}
            if stat.version != me.epoch_version or doc.get("znode") != me.znode:
                me.drop(f"epoch record moved to {doc.get('epoch')}")
                return
            if not me.connected:  # answered across a reconnect: confirm once CONNECTED is in
                return
            me.renewed(sent)
        await c.intents.serve()

    async def _join(self) -> None:
        c, me = self.coord, self.coord.standing
        for key in ("election", "state", "intents", "results", "views"):
            await c.call(ensure_path(c.paths[key]), f"ensure {key}")
        if c.credentials is not None:  # znodes of an older version: world-writable until now
            await secure_tree(c, c.settings.path, c.credentials.acl)
        try:
            await c.call(
                lambda k: k.create_async(c.paths["epoch"], encode({"epoch": 0})), "create epoch"
            )
        except ZkConflict as exc:
            if exc.kind != "exists":
                raise
        name = await c.call(
            lambda k: k.create_async(
                f"{c.paths['election']}/{PREFIX}",
                me.node.encode(),
                ephemeral=True,
                sequence=True,
            ),
            "join election",
        )
        me.znode = name.rsplit("/", 1)[-1]
        self._names[me.znode] = me.node
        log.info("zk.join node=%s znode=%s", me.node, me.znode)

    async def _take_term(self, sent: float) -> None:
        """Bump the epoch, in one transaction with a check that our election znode exists."""
        c, me = self.coord, self.coord.standing
        data, stat = await c.call(lambda k: k.get_async(c.paths["epoch"]), "epoch")
        new = int((decode(data) or {}).get("epoch", 0)) + 1
        record = {
            "epoch": new,
            "leader": me.node,
            "znode": me.znode,
            "at": datetime.now(UTC).isoformat(),
        }
        mine = self.election_path()

        def fill(txn: TransactionRequest) -> None:
            txn.check(mine, 0)
            txn.set_data(c.paths["epoch"], encode(record), stat.version)

        results = await c.transaction(fill, "take term")
        written = results[1]
        if not isinstance(written, ZnodeStat):  # kazoo answers a set_data with its new stat
            raise CoordinationError(f"take term: unexpected answer {written!r}")
        me.won(new, written.version, sent)

    async def _name_of(self, znode: str) -> str | None:
        if znode not in self._names:
            path = f"{self.coord.paths['election']}/{znode}"
            try:
                data, _ = await self.coord.call(lambda k: k.get_async(path), "leader name")
            except ZkConflict:
                return None
            if data is None:  # a znode created with no data names nobody
                return None
            self._names[znode] = data.decode(errors="replace")
            if len(self._names) > 64:
                self._names = {znode: self._names[znode]}
        return self._names[znode]

    def watch(self, _event: WatchedEvent) -> None:
        """Election children changed (kazoo thread): run a round now instead of at the timer."""
        bridge = self.coord.bridge
        if bridge is not None:
            with contextlib.suppress(RuntimeError):
                bridge.loop.call_soon_threadsafe(self.wake.set)
