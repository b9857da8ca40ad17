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
from controller.notifier.routing import Progress
from controller.notifier.rows import (
    Column,
    Message,
    OutboxRow,
    dt,
    dtr,
    incident_of,
    outbox_row_of,
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


class NotifierStore:
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

    # -- outbox ----------------------------------------------------------------------------

    def enqueue(
        self,
        m: Message,
        at: datetime,
        not_before: datetime | None = None,
        cursor: str | None = None,
    ) -> bool:
        """Queue ``m`` (waiting on channel ``cursor``) unless its key was queued before; True if
        it was new."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO outbox (key, incident_id, kind, severity, recipient, mobile,"
            " email, channels, sms_text, subject, body, state, next_at, created_at, cursor)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,'pending',?,?,?)",
            (
                m.key,
                m.incident_id,
                m.kind,
                m.severity,
                m.recipient,
                m.mobile,
                m.email,
                ",".join(m.channels),
                m.sms_text,
                m.subject,
                m.body,
                ts(not_before or at),
                ts(at),
                cursor,
            ),
        )
        return cur.rowcount == 1

    def due(self, now: datetime, limit: int, channel: str | None = None) -> list[OutboxRow]:
        """Pending rows due by ``now`` (those waiting on ``channel`` only, when given)."""
        q = "SELECT * FROM outbox WHERE state = 'pending' AND next_at <= ?"
        args: list[float | str] = [ts(now)]
        if channel is not None:
            q += " AND cursor = ?"
            args.append(channel)
        rows = self._db.execute(q + " ORDER BY next_at, id LIMIT ?", (*args, limit)).fetchall()
        return [outbox_row_of(r) for r in rows]

    def queued_per_channel(self) -> dict[str, int]:
        """Pending rows by the channel they wait on (a gauge for /metrics)."""
        rows = self._db.execute(
            "SELECT cursor, COUNT(*) FROM outbox WHERE state = 'pending' GROUP BY cursor"
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def settle(
        self,
        row_id: int,
        state: str,
        *,
        cursor: str | None,
        progress: Progress,
        attempts: int,
        next_at: datetime,
        error: str | None,
    ) -> None:
        """After an attempt that did not send: the row's next channel, or its final state."""
        self._db.execute(
            "UPDATE outbox SET state = ?, cursor = ?, tried = ?, dead = ?, unknown_on = ?,"
            " attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
            (
                state,
                cursor,
                ",".join(sorted(progress.tried)),
                ",".join(sorted(progress.dead)),
                progress.unknown_on,
                attempts,
                ts(next_at),
                error,
                row_id,
            ),
        )

    def outbox(self, incident_id: int | None = None, limit: int = 200) -> list[OutboxRow]:
        if incident_id is None:
            rows = self._db.execute("SELECT * FROM outbox ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                "SELECT * FROM outbox WHERE incident_id = ? ORDER BY id LIMIT ?",
                (incident_id, limit),
            )
        return [outbox_row_of(r) for r in rows.fetchall()]

    def next_due_at(self, channel: str | None = None) -> datetime | None:
        q, args = "SELECT MIN(next_at) FROM outbox WHERE state = 'pending'", []
        if channel is not None:
            q, args = q + " AND cursor = ?", [channel]
        return dt(self._db.execute(q, args).fetchone()[0])

    def begin_send(self, row_id: int, channel: str, now: datetime) -> int | None:
        """Mark the row in flight on ``channel`` (committed before the channel is called).

        None if the row is no longer pending (cancelled by a resolve or an acknowledgement
        since it was read): then nothing must be sent.
        """
        with self.transaction():
            claimed = self._db.execute(
                "UPDATE outbox SET state = 'sending', channel = ?"
                " WHERE id = ? AND state = 'pending'",
                (channel, row_id),
            ).rowcount
            if claimed != 1:
                return None
            cur = self._db.execute(
                "INSERT INTO attempts (outbox_id, channel, started_at) VALUES (?,?,?)",
                (row_id, channel, ts(now)),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def sent(self, row_id: int, attempt_id: int, provider_id: str, now: datetime) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, provider_id = ?, last_error = NULL"
                " WHERE id = ?",
                (ts(now), provider_id, row_id),
            )
            self._finish(attempt_id, "sent", None, provider_id, now)

    def attempt_failed(self, attempt_id: int, outcome: str, error: str, now: datetime) -> None:
        """Close an attempt that did not send (``outcome``: permanent, transient or unknown)."""
        self._finish(attempt_id, outcome, error, None, now)

    def _finish(
        self, attempt_id: int, outcome: str, error: str | None, pid: str | None, now: datetime
    ) -> None:
        self._db.execute(
            "UPDATE attempts SET finished_at = ?, outcome = ?, error = ?, provider_id = ?"
            " WHERE id = ?",
            (ts(now), outcome, error, pid, attempt_id),
        )

    def cancel_pending(self, incident_id: int, kinds_prefix: tuple[str, ...] = ()) -> int:
        """Drop messages not yet sent (all, or those whose kind starts with a prefix)."""
        q = "UPDATE outbox SET state = 'cancelled' WHERE incident_id = ? AND state = 'pending'"
        args: list[int | str] = [incident_id]
        if kinds_prefix:
            q += " AND (" + " OR ".join("kind LIKE ?" for _ in kinds_prefix) + ")"
            args += [p + "%" for p in kinds_prefix]
        return self._db.execute(q, args).rowcount

    def rewrite_unsent(
        self, key: str, sms_text: str, subject: str, body: str, severity: str
    ) -> bool:
        """Upgrade a message in place while no copy of it can have reached anyone (one text,
        not two): pending, and no channel's outcome unknown."""
        return (
            self._db.execute(
                "UPDATE outbox SET sms_text = ?, subject = ?, body = ?, severity = ?"
                " WHERE key = ? AND state = 'pending' AND unknown_on IS NULL",
                (sms_text, subject, body, severity, key),
            ).rowcount
            == 1
        )

    def max_incident_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) FROM incidents").fetchone()
        return int(row[0] or 0)

    def expedite(self, channel: str, now: datetime) -> int:
        """A channel works again: what waits on it after a failure is due now (a grouping
        delay or quiet hours, which have no error, still hold)."""
        return self._db.execute(
            "UPDATE outbox SET next_at = ? WHERE state = 'pending' AND cursor = ?"
            " AND next_at > ? AND last_error IS NOT NULL",
            (ts(now), channel, ts(now)),
        ).rowcount

    def defer(self, row_id: int, until: datetime) -> None:
        self._db.execute("UPDATE outbox SET next_at = ? WHERE id = ?", (ts(until), row_id))

    def recover_in_flight(self, now: datetime) -> list[OutboxRow]:
        """Rows left ``sending`` by a crash become ``unknown`` (at most once: never resent)."""
        with self.transaction():
            rows = self._db.execute("SELECT * FROM outbox WHERE state = 'sending'").fetchall()
            self._db.execute(
                "UPDATE outbox SET state = 'unknown',"
                " last_error = 'interrupted while sending; not resent' WHERE state = 'sending'"
            )
            self._db.execute(
                "UPDATE attempts SET finished_at = ?, outcome = 'unknown' WHERE outcome IS NULL",
                (ts(now),),
            )
        return [outbox_row_of(r) for r in rows]

    def sent_since(self, recipient: str, since: datetime) -> list[datetime]:
        rows = self._db.execute(
            "SELECT sent_at FROM outbox WHERE recipient = ? AND state IN ('sent', 'unknown')"
            " AND sent_at > ? ORDER BY sent_at",
            (recipient, ts(since)),
        ).fetchall()
        return [dtr(r[0]) for r in rows]
