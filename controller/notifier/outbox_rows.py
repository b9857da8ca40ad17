"""The outbox half of ``NotifierStore``: queued messages, their attempts and their lanes.

A mixin over the store's connection (``_db``) and ``transaction()``; see ``store.py`` for the
schema and the delivery guarantee, ``routing.py`` for the rules the columns record.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime

from controller.notifier.routing import Progress
from controller.notifier.rows import Message, OutboxRow, dt, dtr, outbox_row_of, ts


class OutboxRows:
    _db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

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

    def oldest_pending_per_channel(self) -> dict[str, datetime]:
        """When the oldest pending row waiting on each channel was queued (for /metrics)."""
        rows = self._db.execute(
            "SELECT cursor, MIN(created_at) FROM outbox WHERE state = 'pending' GROUP BY cursor"
        ).fetchall()
        return {str(r[0]): dtr(float(r[1])) for r in rows}

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

    def row(self, row_id: int) -> OutboxRow | None:
        r = self._db.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return None if r is None else outbox_row_of(r)

    def next_due_at(self, channel: str | None = None) -> datetime | None:
        q, args = "SELECT MIN(next_at) FROM outbox WHERE state = 'pending'", []
        if channel is not None:
            q, args = q + " AND cursor = ?", [channel]
        return dt(self._db.execute(q, args).fetchone()[0])

    def begin_send(self, row_id: int, channel: str, now: datetime) -> int | None:
        """Mark the row in flight on ``channel`` (committed before the channel is called).

        None if the row is no longer pending on this channel (cancelled by a resolve or an
        acknowledgement, or handed to another channel, since it was read): then nothing must be
        sent.
        """
        with self.transaction():
            claimed = self._db.execute(
                "UPDATE outbox SET state = 'sending', channel = ?"
                " WHERE id = ? AND state = 'pending' AND (cursor = ? OR cursor IS NULL)",
                (channel, row_id, channel),
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
        self, key: str, sms_text: str, subject: str, body: str, severity: str, now: datetime
    ) -> bool:
        """Upgrade a message in place while no copy of it can have reached anyone (one text,
        not two): pending, and no channel's outcome unknown. Critical now: due at once (a
        grouping delay or quiet hours held it as a lower severity)."""
        due = ts(now) if severity == "critical" else None
        return (
            self._db.execute(
                "UPDATE outbox SET sms_text = ?, subject = ?, body = ?, severity = ?,"
                " next_at = MIN(next_at, COALESCE(?, next_at))"
                " WHERE key = ? AND state = 'pending' AND unknown_on IS NULL",
                (sms_text, subject, body, severity, due, key),
            ).rowcount
            == 1
        )

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
