"""The shared state in ZooKeeper: small JSON documents under ``<path>/state/<key>``.

Keys are what ``controller.loop.state`` stores: the last verified route, the change marker
(with its epoch), the override, the pause, open incidents. Reads are plain (re-sent within their
deadline after a connection hiccup). Writes are the leader's alone and *fenced*: one transaction
checks that the epoch znode still has our term's version and then creates, sets or deletes the
document, so a deposed leader that has not noticed yet (frozen mid-switch, cut off) cannot
overwrite what the new leader recorded. A follower's change goes through ``submit_intent``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kazoo.client import TransactionRequest

from controller.coordination.base import CoordinationError, JsonDoc
from controller.coordination.zk_bridge import ZkConflict, decode, encode

if TYPE_CHECKING:
    from controller.coordination.zookeeper import ZooKeeperCoordinator


class SharedState:
    def __init__(self, coord: ZooKeeperCoordinator) -> None:
        self.coord = coord
        self.seen_epoch = 0  # the epoch record as last read by a follower (for /v1/status)

    async def note_epoch(self) -> None:
        """A follower's own epoch is its last term; the cluster's is in the epoch record."""
        path = self.coord.paths["epoch"]
        data, _ = await self.coord.read(lambda c: c.get_async(path), "epoch")
        self.seen_epoch = max(self.seen_epoch, int((decode(data) or {}).get("epoch", 0)))

    def path(self, key: str) -> str:
        if not key or "/" in key or key.startswith("."):
            raise CoordinationError(f"bad shared-state key {key!r}")
        return f"{self.coord.paths['state']}/{key}"

    async def get(self, key: str) -> JsonDoc | None:
        path = self.path(key)
        try:
            data, _ = await self.coord.read(lambda c: c.get_async(path), f"get {key}")
        except ZkConflict as exc:
            if exc.kind == "nonode":
                return None
            raise
        return decode(data)

    async def put(self, key: str, value: JsonDoc | None) -> None:
        """Write ``value`` (None deletes) if, and only if, our term is still current."""
        path = self.path(key)
        data = None if value is None else encode(value)
        fence = self.coord.fence_version()
        if fence is None:
            raise CoordinationError(f"put {key} refused: not the leader (use submit_intent)")
        for _ in range(3):  # create/set races with another writer are settled in a few rounds
            try:
                await self._write(path, data, fence, key)
                return
            except ZkConflict as exc:
                if exc.op_index == 0:
                    self.coord.step_down("fenced while writing shared state")
                    raise CoordinationError(f"fenced: put {key} refused, epoch moved") from exc
                if exc.kind == "nonode" and data is None:
                    return
                if exc.kind not in ("nonode", "exists"):
                    raise
        raise CoordinationError(f"put {key}: kept racing with another writer")

    async def _write(self, path: str, data: bytes | None, fence: int, key: str) -> None:
        exists = await self.coord.read(lambda c: c.exists_async(path), f"put {key}")
        if data is None and exists is None:
            return
        epoch_path = self.coord.paths["epoch"]

        def fill(txn: TransactionRequest) -> None:
            txn.check(epoch_path, fence)
            if data is None:
                txn.delete(path)
            elif exists is None:
                txn.create(path, data)
            else:
                txn.set_data(path, data)

        await self.coord.transaction(fill, f"put {key}")
