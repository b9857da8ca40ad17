"""Single-node coordination: always the leader, epoch and shared state in a local SQLite file.

The epoch increases by one at every ``start()`` so events from different runs of the daemon are
told apart; the shared state survives restarts (and a kill -9: every put is one committed row).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

from controller.coordination.base import CoordinationError, Coordinator, IntentHandler, JsonDoc
from controller.storage import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shared (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class LocalCoordinator:
    def __init__(self, path: Path | str, node: str) -> None:
        self._path = str(path)
        self._node = node
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._epoch = 0
        self._intent_handler: IntentHandler | None = None
        self._view: JsonDoc | None = None
        self._member: JsonDoc | None = None

    async def start(self) -> None:
        try:
            db = open_sqlite(self._path, _SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
            self._epoch = (int(row[0]) if row else 0) + 1
            db.execute("INSERT OR REPLACE INTO meta VALUES ('epoch', ?)", (self._epoch,))
            db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise CoordinationError(f"local state {self._path}: {exc}") from exc
        self._db = db

    async def stop(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def is_leader(self) -> bool:
        return self._db is not None

    def may_actuate(self) -> bool:
        return self._db is not None

    def epoch(self) -> int:
        return self._epoch

    def cluster_epoch(self) -> int:
        return self._epoch  # the only node: its term is the cluster's

    def leader_name(self) -> str | None:
        return self._node if self._db is not None else None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise CoordinationError("local coordinator not started")
        return self._db

    async def get(self, key: str) -> JsonDoc | None:
        try:
            with self._lock:
                sql = "SELECT value FROM shared WHERE key=?"
                row = self._conn().execute(sql, (key,)).fetchone()
        except sqlite3.Error as exc:
            raise CoordinationError(f"read {key}: {exc}") from exc
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    async def put(self, key: str, value: JsonDoc | None) -> None:
        try:
            with self._lock:
                db = self._conn()
                if value is None:
                    db.execute("DELETE FROM shared WHERE key=?", (key,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO shared VALUES (?, ?)",
                        (key, json.dumps(value, sort_keys=True, default=str)),
                    )
        except sqlite3.Error as exc:
            raise CoordinationError(f"write {key}: {exc}") from exc
        await asyncio.sleep(0)

    # ---- HA additions (issue 7): one node is always its own, current leader ----------------

    async def check_fence(self) -> None:
        self._conn()

    async def handover(self) -> None:
        return None  # nobody to hand over to

    def term_started(self) -> float | None:
        return None  # no follower past to forget: the snapshot counts as it is

    def quorum_lost_since(self) -> float | None:
        return None  # no quorum to lose: the last-resort rule never fires on one node

    def set_intent_handler(self, handler: IntentHandler | None) -> None:
        self._intent_handler = handler

    async def submit_intent(self, doc: JsonDoc, timeout_s: float = 30.0) -> JsonDoc:
        if self._intent_handler is None:
            raise CoordinationError("no intent handler registered")
        return await asyncio.wait_for(self._intent_handler(doc), timeout=timeout_s)

    async def publish_view(self, doc: JsonDoc) -> None:
        self._view = doc

    async def views(self) -> dict[str, JsonDoc]:
        return {} if self._view is None else {self._node: self._view}

    async def publish_member(self, doc: JsonDoc) -> None:
        self._member = doc

    async def members(self) -> dict[str, JsonDoc]:
        return {} if self._member is None else {self._node: self._member}


_IS_A_COORDINATOR: type[Coordinator] = LocalCoordinator  # mypy checks the whole protocol
