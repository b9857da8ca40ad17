"""One way to open the SQLite files in ``node.state_dir`` (event log, coordination state, notifier
outbox, call log): WAL, ``synchronous=FULL`` (a committed row survives a power cut: nothing lost on
a crash), autocommit mode so each store chooses its own transactions, usable from the threads the
stores hand work to."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_sqlite(path: Path | str, schema: str = "", *, rows: bool = False) -> sqlite3.Connection:
    """Open (creating its folder) and prepare one store's database; ``schema`` is run as a script
    (``CREATE TABLE IF NOT EXISTS ...``); ``rows`` makes rows ``sqlite3.Row``."""
    where = str(path)
    if where != ":memory:":
        Path(where).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
    try:
        if rows:
            db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if schema:
            db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db
