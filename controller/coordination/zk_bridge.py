"""Bridge kazoo's threads into asyncio, with a deadline on every call.

kazoo runs its connection and callbacks on its own threads, and queues requests while it is
disconnected: a plain ``client.get(path)`` can then block for as long as the outage lasts. Every
call here goes through kazoo's ``*_async`` API; its ``IAsyncResult`` is linked (``rawlink``) to an
asyncio future on our loop through ``loop.call_soon_threadsafe``, and awaited with
``asyncio.wait_for``. No executor threads, no blocking, and a deadline on every call.

kazoo's exceptions stop here: callers see ``CoordinationError`` (STYLE lesson 4), except the few
outcomes a coordinator must tell apart (a missing node, an existing node, a moved version), which
come back as the small ``ZkConflict`` subclass with a ``kind``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import TypeAlias, TypeVar

from kazoo.client import KazooClient, TransactionRequest
from kazoo.exceptions import (
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
)
from kazoo.interfaces import IAsyncResult
from kazoo.protocol.states import ZnodeStat

from controller.coordination.base import CoordinationError, JsonDoc

T = TypeVar("T")
# A string: kazoo's IAsyncResult is generic in our stubs only, not subscriptable at run time.
Start: TypeAlias = "Callable[[KazooClient], IAsyncResult[T]]"
"""Starts one kazoo ``*_async`` request on the client (``ZooKeeperCoordinator.call``)."""
MAX_DOC_BYTES = 512 * 1024  # well under ZooKeeper's 1 MiB znode limit


def encode(doc: JsonDoc) -> bytes:
    data = json.dumps(doc, sort_keys=True, default=str).encode()
    if len(data) > MAX_DOC_BYTES:
        raise CoordinationError(f"document of {len(data)} bytes is too large for ZooKeeper")
    return data


def decode(data: bytes | None) -> JsonDoc | None:
    if not data:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def get_data(path: str) -> Start[tuple[bytes | None, ZnodeStat]]:
    """``get_async(path)`` with ``path`` bound now (calls made in a loop, or gathered)."""
    return lambda k: k.get_async(path)


def ensure_path(path: str) -> Start[bool]:
    """``ensure_path_async(path)`` with ``path`` bound now."""
    return lambda k: k.ensure_path_async(path)


class ZkConflict(CoordinationError):
    """ZooKeeper answered "no": ``kind`` is nonode, exists, version or notempty."""

    def __init__(self, kind: str, detail: str, op_index: int | None = None) -> None:
        super().__init__(f"{detail}: {kind}")
        self.kind = kind
        self.op_index = op_index  # which op of a transaction failed, if it was one


_CONFLICTS: tuple[tuple[type[BaseException], str], ...] = (
    (NoNodeError, "nonode"),
    (NodeExistsError, "exists"),
    (BadVersionError, "version"),
    (NotEmptyError, "notempty"),
)


def translate(exc: BaseException, what: str, op_index: int | None = None) -> CoordinationError:
    """kazoo's (or the handler's) exception → our own, naming the operation."""
    for cls, kind in _CONFLICTS:
        if isinstance(exc, cls):
            return ZkConflict(kind, what, op_index)
    if isinstance(exc, KazooException):
        return CoordinationError(f"{what}: {type(exc).__name__}")
    return CoordinationError(f"{what}: {type(exc).__name__}: {exc}")


class KazooBridge:
    """Turns ``IAsyncResult``s into awaitables on one asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def call(
        self,
        start: Callable[[], IAsyncResult[T]],
        what: str,
        deadline_s: float,
        idempotent: bool = False,
    ) -> T:
        """Start one kazoo async request and await its result for at most ``deadline_s``.

        An ``idempotent`` request (a read) is re-sent after a connection hiccup until the deadline;
        a write never is: it may have been applied before the connection dropped.
        """
        loop = self.loop
        deadline = loop.time() + deadline_s
        for attempt in range(1000):  # bounded by the deadline long before this count
            try:
                return await self._once(start, what, max(0.001, deadline - loop.time()), deadline_s)
            except CoordinationError as exc:
                transient = isinstance(exc.__cause__, (ConnectionLoss, ConnectionClosedError))
                if not (idempotent and transient) or loop.time() + 0.02 >= deadline:
                    raise
            await asyncio.sleep(min(0.02 * (attempt + 1), 0.2))
        raise CoordinationError(f"{what}: gave up")  # pragma: no cover

    async def _once(
        self, start: Callable[[], IAsyncResult[T]], what: str, wait_s: float, deadline_s: float
    ) -> T:
        fut: asyncio.Future[T] = self.loop.create_future()

        def settle(result: IAsyncResult[T]) -> None:  # runs on our loop
            if fut.done():
                return
            if result.successful():
                fut.set_result(result.value)
            else:
                exc = result.exception
                if exc is None:  # not successful means kazoo set one; never None in practice
                    exc = CoordinationError("failed without an exception")
                err = translate(exc, what)
                err.__cause__ = exc
                fut.set_exception(err)

        def on_kazoo_thread(result: IAsyncResult[T]) -> None:
            # A closed loop (RuntimeError) means nobody waits for this answer any more.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(settle, result)

        try:
            async_result = start()
        except (KazooException, ValueError, TypeError) as exc:
            raise translate(exc, what) from exc
        async_result.rawlink(on_kazoo_thread)
        try:
            return await asyncio.wait_for(fut, timeout=wait_s)
        except TimeoutError as exc:
            raise CoordinationError(f"{what}: no answer within {deadline_s:g}s") from exc

    async def transaction(
        self,
        fill: Callable[[TransactionRequest], None],
        client: KazooClient,
        what: str,
        deadline_s: float,
    ) -> list[object]:
        """Commit one multi-op; a failed op raises its translated error (not RolledBackError).

        The results are kazoo's, one per operation: a path, a ``ZnodeStat`` or True."""

        def start() -> IAsyncResult[list[object]]:
            txn = client.transaction()
            fill(txn)
            return txn.commit_async()

        results = await self.call(start, what, deadline_s)
        failures = [
            (i, r)
            for i, r in enumerate(results)
            if isinstance(r, BaseException) and not isinstance(r, RolledBackError)
        ]
        if failures:
            index, exc = failures[0]
            raise translate(exc, f"{what} (op {index})", index)
        return list(results)
