"""Followers' writes as intents the leader executes, and each node's published health view.

A follower's ``POST /v1/failover`` must not touch the world: the API calls
``coordinator.submit_intent(doc)``. On the leader that runs the registered handler directly; on a
follower it creates ``intents/i-<seq>`` and waits (bounded) for ``results/i-<seq>``. The leader's
campaign round calls ``serve()``: it *claims* each intent by deleting it in a transaction fenced by
its epoch (so a deposed leader cannot claim), runs the handler in a task, and writes the result.
A submitter that times out deletes its intent; if that delete fails the leader had already claimed
it, and the caller is told the outcome is unknown rather than "not done".

Views: each node writes ``views/<node>`` (ephemeral: a dead node's view disappears with its
session); the leader reads them all to apply the majority rule (``zk_views``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from kazoo.client import TransactionRequest

from controller.coordination.base import CoordinationError, IntentHandler, JsonDoc
from controller.coordination.zk_bridge import ZkConflict, decode, encode, get_data
from logsafe import esc

if TYPE_CHECKING:
    from controller.coordination.zookeeper import ZooKeeperCoordinator

log = logging.getLogger("hotline.coordination.zk")

MAX_IN_FLIGHT = 8
POLL_S = 0.05


class IntentBox:
    def __init__(self, coord: ZooKeeperCoordinator) -> None:
        self.coord = coord
        self.handler: IntentHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- follower (or leader) side -----------------------------------------------------------

    async def submit(self, doc: JsonDoc, timeout_s: float) -> JsonDoc:
        """Have the leader execute ``doc``; return the handler's answer or raise."""
        c = self.coord
        if c.may_actuate() and self.handler is not None:
            return await asyncio.wait_for(self.handler(doc), timeout=timeout_s)
        body = encode({"from": c.node, "doc": doc})
        path = await c.call(
            lambda k: k.create_async(f"{c.paths['intents']}/i-", body, sequence=True), "intent"
        )
        name = path.rsplit("/", 1)[-1]
        result_path = f"{c.paths['results']}/{name}"
        deadline = time.monotonic() + timeout_s
        for _ in range(int(timeout_s / POLL_S) + 2):  # bounded: one poll per POLL_S
            try:
                data, _ = await c.call(lambda k: k.get_async(result_path), "intent result")
            except ZkConflict as exc:
                if exc.kind != "nonode":
                    raise
            else:
                await self._forget(result_path)
                answer = decode(data) or {}
                if not answer.get("ok"):
                    raise CoordinationError(f"leader refused: {answer.get('error', '?')}")
                result = answer.get("result")
                return result if isinstance(result, dict) else {}
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        try:
            await c.call(lambda k: k.delete_async(path), "withdraw intent")
        except ZkConflict as exc:
            raise CoordinationError(
                f"the leader took intent {name} but gave no result within {timeout_s:g}s"
            ) from exc
        raise CoordinationError(f"no leader executed intent {name} within {timeout_s:g}s")

    async def _forget(self, path: str) -> None:
        # An orphan result costs a few bytes; the next submitter's id differs anyway.
        with contextlib.suppress(CoordinationError):
            await self.coord.call(lambda k: k.delete_async(path), "forget result")

    # ---- leader side ------------------------------------------------------------------------

    async def serve(self) -> None:
        """Claim and start the pending intents (called by the leader's campaign round)."""
        c = self.coord
        if self.handler is None or not c.may_actuate():
            return
        names = await c.call(
            lambda k: k.get_children_async(c.paths["intents"], watch=c.campaign.watch), "intents"
        )
        for name in sorted(names)[: MAX_IN_FLIGHT - len(self._tasks)]:
            path = f"{c.paths['intents']}/{name}"
            try:
                data, _ = await c.call(get_data(path), "read intent")
                await self._claim(path)
            except ZkConflict:
                continue  # withdrawn meanwhile
            body = decode(data) or {}
            doc = body.get("doc") if isinstance(body.get("doc"), dict) else {}
            who = esc(body.get("from"), 80)  # ZooKeeper data: whoever may write the znode
            log.info("zk.intent claimed=%s from=%s epoch=%d", esc(name, 80), who, c.epoch())
            task = asyncio.create_task(self._run(name, doc or {}))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _claim(self, path: str) -> None:
        c = self.coord
        fence = c.fence_version()
        if fence is None:
            raise CoordinationError("not leading: intent not claimed")

        def fill(txn: TransactionRequest) -> None:
            txn.check(c.paths["epoch"], fence)
            txn.delete(path)

        await c.transaction(fill, "claim intent")

    async def _run(self, name: str, doc: JsonDoc) -> None:
        handler = self.handler
        try:
            if handler is None:
                raise CoordinationError("no intent handler")
            answer: JsonDoc = {"ok": True, "result": await handler(doc)}
        except Exception as exc:  # the submitter gets the reason, the leader keeps running
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        path = f"{self.coord.paths['results']}/{name}"
        try:
            await self.coord.call(lambda k: k.create_async(path, encode(answer)), "intent result")
        except CoordinationError as exc:
            log.error("zk.intent result=%s not written: %s", esc(name, 80), esc(exc))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- views ------------------------------------------------------------------------------

    async def publish_view(self, doc: JsonDoc) -> None:
        """Write this node's view (ephemeral; recreated after a lost session)."""
        await self.publish("views", doc)

    async def views(self) -> dict[str, JsonDoc]:
        """Every live node's last published view, by node name."""
        return await self.read_all("views")

    async def publish(self, folder: str, doc: JsonDoc) -> None:
        """Write ``<folder>/<this node>`` (ephemeral; recreated after a lost session)."""
        c = self.coord
        path = f"{c.paths[folder]}/{c.node}"
        data = encode(doc)
        try:
            await c.call(lambda k: k.set_async(path, data), "publish view")
        except ZkConflict as exc:
            if exc.kind != "nonode":
                raise
            await c.call(lambda k: k.ensure_path_async(c.paths[folder]), f"{folder} path")
            await c.call(lambda k: k.create_async(path, data, ephemeral=True), f"publish {folder}")

    async def read_all(self, folder: str) -> dict[str, JsonDoc]:
        """Every live node's document in ``folder``, by node name."""
        c = self.coord
        try:
            names = await c.call(lambda k: k.get_children_async(c.paths[folder]), folder)
        except ZkConflict:
            return {}
        reads = [c.call(get_data(f"{c.paths[folder]}/{n}"), folder) for n in names]
        out: dict[str, JsonDoc] = {}
        for name, got in zip(
            names, await asyncio.gather(*reads, return_exceptions=True), strict=True
        ):
            if isinstance(got, ZkConflict):
                continue
            if isinstance(got, BaseException):
                raise got
            doc = decode(got[0])
            if doc is not None:
                out[name] = doc
        return out
