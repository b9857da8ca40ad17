"""The event log: every decision, actuation, switch, drift and manual action, in SQLite.

Events are the audit trail operators read (``hotline events``, ``/v1/events``) and survive restarts.
Appends are synchronous and small (one row, one commit): the loop writes a handful per switch, not
one per tick. Nothing written here may carry a secret: callers pass reasons and outcomes only.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.clock import utcnow
from controller.config import Route
from controller.service.contract import EventRecord
from controller.storage import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    route_from TEXT,
    route_to TEXT,
    reason TEXT NOT NULL DEFAULT '',
    who TEXT,
    epoch INTEGER,
    outcome TEXT,
    duration_ms REAL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
"""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event before it has an id."""

    kind: str
    reason: str = ""
    route_from: Route | None = None
    route_to: Route | None = None
    who: str | None = None
    epoch: int | None = None
    outcome: str | None = None
    duration_ms: float | None = None
    details: dict[str, object] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class EventStore:
    """Append-only event log in one SQLite file (``:memory:`` for tests). The oldest events
    beyond ``keep`` are pruned now and then, so years of drift checks cannot fill the disk."""

    PRUNE_EVERY = 1000

    def __init__(self, path: Path | str, keep: int = 200_000) -> None:
        self.keep = keep
        self._appended = 0
        self._db = open_sqlite(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, ev: NewEvent, at: datetime | None = None) -> EventRecord:
        when = at or utcnow()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO events (at, kind, route_from, route_to, reason, who, epoch, outcome,"
                " duration_ms, details) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    _iso(when),
                    ev.kind,
                    None if ev.route_from is None else str(ev.route_from),
                    None if ev.route_to is None else str(ev.route_to),
                    ev.reason,
                    ev.who,
                    ev.epoch,
                    ev.outcome,
                    ev.duration_ms,
                    json.dumps(ev.details, default=str, sort_keys=True),
                ),
            )
            new_id = int(cur.lastrowid or 0)
            self._appended += 1
            if self._appended % self.PRUNE_EVERY == 0:
                self._db.execute("DELETE FROM events WHERE id <= ?", (new_id - self.keep,))
        return EventRecord(
            id=new_id,
            at=when.astimezone(UTC),
            kind=ev.kind,
            route_from=ev.route_from,
            route_to=ev.route_to,
            reason=ev.reason,
            who=ev.who,
            epoch=ev.epoch,
            outcome=ev.outcome,
            duration_ms=ev.duration_ms,
            details=json.loads(json.dumps(ev.details, default=str)),
        )

    def list(
        self, since: datetime | None = None, limit: int = 100, kind: str | None = None
    ) -> list[EventRecord]:
        """Oldest first. With ``since``: the first ``limit`` events after it; else the last."""
        limit = max(0, min(limit, 10_000))
        where, args = [], []
        if since is not None:
            where.append("at > ?")
            args.append(_iso(since if since.tzinfo else since.replace(tzinfo=UTC)))
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = "ASC" if since is not None else "DESC"
        sql = f"SELECT * FROM events {clause} ORDER BY id {order} LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        records = [_record(r) for r in rows]
        return records if since is not None else records[::-1]

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                row = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
            else:
                sql = "SELECT COUNT(*) FROM events WHERE kind=?"
                row = self._db.execute(sql, (kind,)).fetchone()
        return int(row[0])


def _record(row: tuple[Any, ...]) -> EventRecord:  # sqlite3 rows are untyped
    id_, at, kind, rfrom, rto, reason, who, epoch, outcome, dur, details = row
    return EventRecord(
        id=id_,
        at=datetime.fromisoformat(at),
        kind=kind,
        route_from=None if rfrom is None else Route(rfrom),
        route_to=None if rto is None else Route(rto),
        reason=reason,
        who=who,
        epoch=epoch,
        outcome=outcome,
        duration_ms=dur,
        details=json.loads(details),
    )
