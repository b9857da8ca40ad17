"""The notifier's durable state in SQLite: incidents, their timeline, the outbox and attempts.

Why SQLite: the outbox must survive a restart and a loss of leadership on this node, and one file
in ``state_dir`` needs no server. Every change is one transaction, so an incident and the messages
it causes are recorded together or not at all.

Delivery (per message, i.e. per incident, transition and recipient; the rules are in
``routing.py``): **at least once on some channel**, retried until delivered or expired; a
second copy only after an unknown outcome, and then at most one. The row's idempotency key is
unique, so a transition is queued once however often the controller repeats a signal. Just
before a channel is asked to send, the row is marked ``sending`` (and committed); after the
channel answers it becomes ``sent`` or goes back to ``pending`` on its next channel (``cursor``).
A row found in ``sending`` after a restart may or may not have reached the phone (the modem may
have sent the SMS just before the crash), so it is marked ``unknown`` and never resent: a
duplicate cannot be taken back, and reminders and escalation are new transitions of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from controller.notifier.incidents import Incident
from controller.notifier.outbox_rows import OutboxRows
from controller.notifier.rows import (
    Column,
    dtr,
    incident_of,
    ts,
)
from controller.storage import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL, severity TEXT NOT NULL, summary TEXT NOT NULL, detail TEXT NOT NULL,
  route TEXT, epoch INTEGER, code TEXT NOT NULL, state TEXT NOT NULL,
  opened_at REAL NOT NULL, resolved_at REAL, acked_at REAL, acked_by TEXT,
  assignee TEXT NOT NULL, first_assignee TEXT NOT NULL, escalation_level INTEGER NOT NULL,
  last_escalated_at REAL NOT NULL, reminders INTEGER NOT NULL, last_reminded_at REAL,
  resolution TEXT NOT NULL DEFAULT '', members TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_per_key ON incidents(key) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS timeline (
  id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id INTEGER NOT NULL, at REAL NOT NULL,
  what TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE, incident_id INTEGER, kind TEXT NOT NULL, severity TEXT NOT NULL,
  recipient TEXT NOT NULL, mobile TEXT, email TEXT, channels TEXT NOT NULL,
  sms_text TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
  created_at REAL NOT NULL, sent_at REAL, channel TEXT, provider_id TEXT, last_error TEXT,
  cursor TEXT, tried TEXT NOT NULL DEFAULT '', dead TEXT NOT NULL DEFAULT '', unknown_on TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_at);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox(state, cursor, next_at);
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, outbox_id INTEGER NOT NULL, channel TEXT NOT NULL,
  started_at REAL NOT NULL, finished_at REAL, outcome TEXT, error TEXT, provider_id TEXT
);
"""


_NEW_COLUMNS = (
    ("outbox", "cursor", "TEXT"),
    ("outbox", "tried", "TEXT NOT NULL DEFAULT ''"),
    ("outbox", "dead", "TEXT NOT NULL DEFAULT ''"),
    ("outbox", "unknown_on", "TEXT"),
    ("incidents", "members", "TEXT NOT NULL DEFAULT '{}'"),
)


class NotifierStore(OutboxRows):
    def __init__(self, path: Path) -> None:
        self._db = open_sqlite(path, "", rows=True)
        for table, col, decl in _NEW_COLUMNS:  # a store from before lanes and grouping
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})").fetchall()}
            if have and col not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {col} {decl}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- incidents -------------------------------------------------------------------------

    def open_incident(
        self,
        *,
        key: str,
        severity: str,
        summary: str,
        detail: str,
        route: str | None,
        epoch: int | None,
        code: str,
        at: datetime,
        assignee: str,
        number: int | None = None,
        members: str = "{}",
    ) -> int:
        """A new open incident; ``number`` continues the cluster's numbering (the ledger), unless
        this store already used it (then the next free one: numbers stay unique here)."""
        if number is not None and self.incident(number) is not None:
            number = None
        cur = self._db.execute(
            "INSERT INTO incidents (id, key, severity, summary, detail, route, epoch, code, state,"
            " opened_at, assignee, first_assignee, escalation_level, last_escalated_at, reminders,"
            " members) VALUES (?,?,?,?,?,?,?,?,'open',?,?,?,0,?,0,?)",
            (
                number,
                key,
                severity,
                summary,
                detail,
                route,
                epoch,
                code,
                ts(at),
                assignee,
                assignee,
                ts(at),
                members,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    _MUTABLE = frozenset(
        [
            "severity",
            "summary",
            "detail",
            "route",
            "state",
            "resolved_at",
            "acked_at",
            "acked_by",
            "assignee",
            "escalation_level",
            "last_escalated_at",
            "reminders",
            "last_reminded_at",
            "resolution",
            "members",
        ]
    )

    def update_incident(self, incident_id: int, **fields: Column) -> None:
        unknown = set(fields) - self._MUTABLE
        if unknown:  # column names go into the SQL text: only known ones
            raise ValueError(f"not an incident column: {sorted(unknown)}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        vals = [ts(v) if isinstance(v, datetime) else v for v in fields.values()]
        self._db.execute(f"UPDATE incidents SET {cols} WHERE id = ?", (*vals, incident_id))

    def incident(self, incident_id: int) -> Incident | None:
        row = self._db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return incident_of(row)

    def first_assignee(self, incident_id: int) -> str:
        row = self._db.execute(
            "SELECT first_assignee FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        return str(row[0])

    def open_incident_for(self, key: str) -> Incident | None:
        row = self._db.execute(
            "SELECT * FROM incidents WHERE key = ? AND state = 'open'", (key,)
        ).fetchone()
        return incident_of(row)

    def open_incident_by_code(self, code: str) -> Incident | None:
        row = self._db.execute(
            "SELECT * FROM incidents WHERE code = ? AND state = 'open'", (code,)
        ).fetchone()
        return incident_of(row)

    def incidents(self, state: str | None = None, limit: int = 100) -> list[Incident]:
        q = "SELECT * FROM incidents"
        args: tuple[str, ...] = ()
        if state:
            q += " WHERE state = ?"
            args = (state,)
        rows = self._db.execute(q + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [i for i in map(incident_of, rows) if i is not None]

    def add_timeline(self, incident_id: int, at: datetime, what: str) -> None:
        self._db.execute(
            "INSERT INTO timeline (incident_id, at, what) VALUES (?,?,?)",
            (incident_id, ts(at), what),
        )

    def timeline(self, incident_id: int) -> list[tuple[datetime, str]]:
        rows = self._db.execute(
            "SELECT at, what FROM timeline WHERE incident_id = ? ORDER BY id", (incident_id,)
        ).fetchall()
        return [(dtr(r[0]), r[1]) for r in rows]

    def count_timeline(self, incident_id: int, prefix: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM timeline WHERE incident_id = ? AND substr(what, 1, ?) = ?",
            (incident_id, len(prefix), prefix),
        ).fetchone()
        return int(row[0])

    def queued_or_told(self, incident_id: int) -> list[str]:
        """Everyone told, or whose message a channel failed to carry so far: the resolution
        supersedes what they did not get. A message never tried yet is simply dropped."""
        rows = self._db.execute(
            "SELECT recipient, MIN(id) AS first FROM outbox WHERE incident_id = ?"
            " AND (state IN ('sent', 'sending', 'unknown')"
            " OR (state = 'pending' AND last_error IS NOT NULL)) GROUP BY recipient"
            " ORDER BY first",
            (incident_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def recipients_of(self, incident_id: int) -> list[str]:
        """Everyone told (or maybe told) about the incident: the resolve notice goes to them."""
        rows = self._db.execute(
            "SELECT recipient, MIN(id) AS first FROM outbox WHERE incident_id = ?"
            " AND state IN ('sent', 'sending', 'unknown') GROUP BY recipient ORDER BY first",
            (incident_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def record_told(self, incident_id: int, recipient: str, at: datetime) -> None:
        """``recipient`` was told of the incident by a previous leader: nothing to send now,
        but the resolve notice must reach them (``recipients_of`` counts this row)."""
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (key, incident_id, kind, severity, recipient, channels,"
            " sms_text, subject, body, state, next_at, created_at, sent_at, channel)"
            " VALUES (?,?,'open','',?,'','','','','sent',?,?,?,'previous-leader')",
            (f"inc{incident_id}/open/{recipient}", incident_id, recipient, ts(at), ts(at), ts(at)),
        )

    def max_incident_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) FROM incidents").fetchone()
        return int(row[0] or 0)
