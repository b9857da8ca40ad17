"""Calls and callbacks in SQLite (``state_dir/calls.sqlite3``), so a restart forgets nothing.

The call id is the primary key: a replayed webhook finds its call already there and changes
nothing. A call first reported without an end (still ringing or talking) may be completed once by
a later event that carries the end; after that the record is final.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from controller.calls.model import CallRecord
from controller.storage import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
  call_id TEXT PRIMARY KEY, caller TEXT, line TEXT NOT NULL, agent TEXT,
  start REAL NOT NULL, answer REAL, end_ REAL, received_at REAL NOT NULL,
  flagged_long INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_start ON calls(start);
CREATE TABLE IF NOT EXISTS callbacks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL UNIQUE, caller TEXT,
  line TEXT NOT NULL, missed_at REAL NOT NULL, state TEXT NOT NULL,
  closed_at REAL, closed_by TEXT, called_back_at REAL, note TEXT NOT NULL DEFAULT ''
);
"""


def _ts(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def _dt(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def _dtr(x: float) -> datetime:
    """A required timestamp column."""
    return datetime.fromtimestamp(x, UTC)


Stored = Literal["new", "completed", "duplicate"]


@dataclass(frozen=True, slots=True)
class Callback:
    id: int
    call_id: str
    caller: str | None
    line: str
    missed_at: datetime
    state: Literal["open", "closed"]
    closed_at: datetime | None
    closed_by: str | None
    called_back_at: datetime | None
    note: str


class CallStore:
    def __init__(self, path: Path) -> None:
        self._db = open_sqlite(path, _SCHEMA, rows=True)

    def close(self) -> None:
        self._db.close()

    def _call(self, r: sqlite3.Row) -> CallRecord:
        return CallRecord(
            call_id=r["call_id"],
            caller=r["caller"],
            line=r["line"],
            agent=r["agent"],
            start=_dtr(r["start"]),
            answer=_dt(r["answer"]),
            end=_dt(r["end_"]),
        )

    def put(self, c: CallRecord, now: datetime) -> Stored:
        """Insert a new call, complete an unfinished one, or recognise a replay."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT * FROM calls WHERE call_id = ?", (c.call_id,)).fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO calls (call_id, caller, line, agent, start, answer, end_,"
                    " received_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        c.call_id,
                        c.caller,
                        c.line,
                        c.agent,
                        _ts(c.start),
                        _ts(c.answer),
                        _ts(c.end),
                        _ts(now),
                    ),
                )
                result: Stored = "new"
            elif row["end_"] is None and c.end is not None:
                self._db.execute(
                    "UPDATE calls SET answer = COALESCE(answer, ?), end_ = ?,"
                    " agent = COALESCE(?, agent) WHERE call_id = ?",
                    (_ts(c.answer), _ts(c.end), c.agent, c.call_id),
                )
                result = "completed"
            else:
                result = "duplicate"
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    def get(self, call_id: str) -> CallRecord | None:
        row = self._db.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        return None if row is None else self._call(row)

    def calls_between(self, lo: datetime, hi: datetime) -> list[CallRecord]:
        rows = self._db.execute(
            "SELECT * FROM calls WHERE start >= ? AND start < ? ORDER BY start",
            (_ts(lo), _ts(hi)),
        ).fetchall()
        return [self._call(r) for r in rows]

    def flag_long(self, call_id: str) -> bool:
        """Mark a call as flagged; True only the first time."""
        cur = self._db.execute(
            "UPDATE calls SET flagged_long = 1 WHERE call_id = ? AND flagged_long = 0", (call_id,)
        )
        return cur.rowcount == 1

    # -- callbacks -------------------------------------------------------------------------

    def _callback(self, r: sqlite3.Row) -> Callback:
        return Callback(
            id=r["id"],
            call_id=r["call_id"],
            caller=r["caller"],
            line=r["line"],
            missed_at=_dtr(r["missed_at"]),
            state=r["state"],
            closed_at=_dt(r["closed_at"]),
            closed_by=r["closed_by"],
            called_back_at=_dt(r["called_back_at"]),
            note=r["note"],
        )

    def add_callback(self, c: CallRecord) -> Callback | None:
        """A callback for a missed call; None if that call already has one."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO callbacks (call_id, caller, line, missed_at, state)"
            " VALUES (?,?,?,?,'open')",
            (c.call_id, c.caller, c.line, _ts(c.end or c.start)),
        )
        return self.callback(cur.lastrowid) if cur.rowcount == 1 and cur.lastrowid else None

    def callback(self, callback_id: int) -> Callback | None:
        row = self._db.execute("SELECT * FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        return None if row is None else self._callback(row)

    def callbacks(self, open_only: bool = True, limit: int = 500) -> list[Callback]:
        q = "SELECT * FROM callbacks" + (" WHERE state = 'open'" if open_only else "")
        rows = self._db.execute(q + " ORDER BY missed_at LIMIT ?", (limit,)).fetchall()
        return [self._callback(r) for r in rows]

    def close_callback(
        self, callback_id: int, who: str, called_back_at: datetime, note: str, now: datetime
    ) -> bool:
        cur = self._db.execute(
            "UPDATE callbacks SET state = 'closed', closed_at = ?, closed_by = ?,"
            " called_back_at = ?, note = ? WHERE id = ? AND state = 'open'",
            (_ts(now), who, _ts(called_back_at), note, callback_id),
        )
        return cur.rowcount == 1
