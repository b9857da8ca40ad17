"""The cluster's shared incident state is ZooKeeper data (issue 16): whoever can write the znode
chooses its keys, so a key holding a newline or a bidi override must not forge a log line when
a new leader adopts (or skips) the incident."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from controller.notifier.service import Notifier
from controller.notifier.shared import SharedIncidents
from controller.notifier.store import NotifierStore
from logsafe import is_unsafe
from tests.notifier.helpers import Clock, RecordingChannel, lab_config, signal

HOSTILE = "outage\n2026-12-01 09:00:00,000 level=CRITICAL FORGED \u202e\x1b[2J"


class Docs:
    """The coordinator's shared JSON documents, in memory."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.docs.get(key)

    async def put(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.docs.pop(key, None)
        else:
            self.docs[key] = value


def _node(tmp: Path, name: str, docs: Docs, clock: Clock) -> Notifier:
    cfg = lab_config()
    n = Notifier(
        cfg,
        cfg.notifier,
        NotifierStore(tmp / f"{name}.sqlite3"),
        {"modem_sms": RecordingChannel("modem_sms")},
        clock=clock,
    )
    n.shared = SharedIncidents(docs)
    return n


async def test_a_hostile_shared_key_is_logged_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    docs, clock = Docs(), Clock()
    old = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    await old.run_once()
    incidents = docs.docs["incidents"]
    incidents[HOSTILE] = incidents.pop("outage")
    new = _node(tmp_path, "b", docs, clock)
    caplog.clear()
    await new.run_once()  # its first turn as leader: it adopts the cluster's incidents
    mentions = [r.getMessage() for r in caplog.records if "FORGED" in r.getMessage()]
    assert mentions, [r.getMessage() for r in caplog.records]
    for message in mentions:
        assert not any(is_unsafe(c) for c in message), message
