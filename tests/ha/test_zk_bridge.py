"""The kazoo → asyncio bridge with kazoo's own threading handler: results set on another thread,
deadlines, re-sent reads, and the translation of kazoo's exceptions at the boundary."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from kazoo.exceptions import ConnectionLoss, NodeExistsError, NoNodeError, SessionExpiredError
from kazoo.handlers.threading import SequentialThreadingHandler
from kazoo.interfaces import IAsyncResult

from controller.coordination.base import CoordinationError
from controller.coordination.zk_bridge import KazooBridge, ZkConflict, decode, encode, translate


@pytest.fixture
def handler() -> Iterator[SequentialThreadingHandler]:
    h = SequentialThreadingHandler()
    h.start()
    yield h
    h.stop()


def later(fn: Callable[[], object], delay: float) -> None:
    threading.Timer(delay, fn).start()


async def test_a_result_set_on_kazoos_thread_reaches_the_loop(
    handler: SequentialThreadingHandler,
) -> None:
    bridge = KazooBridge(asyncio.get_running_loop())
    result = handler.async_result()
    later(lambda: result.set("value"), 0.05)
    assert await bridge.call(lambda: result, "get x", 1.0) == "value"


async def test_no_answer_within_the_deadline_is_a_coordination_error(
    handler: SequentialThreadingHandler,
) -> None:
    bridge = KazooBridge(asyncio.get_running_loop())
    started = time.monotonic()
    with pytest.raises(CoordinationError, match=r"get x: no answer within 0\.2s"):
        await bridge.call(lambda: handler.async_result(), "get x", 0.2)
    assert time.monotonic() - started < 0.5


async def test_reads_are_resent_after_a_connection_hiccup_writes_are_not(
    handler: SequentialThreadingHandler,
) -> None:
    bridge = KazooBridge(asyncio.get_running_loop())
    attempts: list[int] = []

    def start() -> IAsyncResult[str]:
        attempts.append(1)
        r = handler.async_result()
        if len(attempts) == 1:
            r.set_exception(ConnectionLoss())
        else:
            r.set("ok")
        return r

    assert await bridge.call(start, "get x", 1.0, idempotent=True) == "ok"
    assert len(attempts) == 2
    attempts.clear()
    with pytest.raises(CoordinationError, match="create x: ConnectionLoss"):
        await bridge.call(start, "create x", 1.0)
    assert len(attempts) == 1


def test_kazoo_exceptions_are_translated() -> None:
    nonode = translate(NoNodeError(), "get /a")
    assert isinstance(nonode, ZkConflict) and nonode.kind == "nonode"
    assert translate(NodeExistsError(), "create /a").kind == "exists"  # type: ignore[attr-defined]
    expired = translate(SessionExpiredError(), "get /a")
    assert type(expired) is CoordinationError and str(expired) == "get /a: SessionExpiredError"


def test_documents_are_json_objects_of_bounded_size() -> None:
    assert decode(encode({"b": 1, "a": [1, 2]})) == {"a": [1, 2], "b": 1}
    assert decode(b"[1, 2]") is None and decode(b"not json") is None and decode(None) is None
    with pytest.raises(CoordinationError, match="too large"):
        encode({"x": "y" * 600_000})
