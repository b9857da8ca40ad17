"""Open incidents in the coordinator's shared state, so a new leader continues them.

Each node keeps its own outbox (SQLite); what must survive a change of leader is *which incidents
are open and who was told*. The leader writes one small document (``incidents``) through the
``Coordinator`` (in ZooKeeper when clustered): per incident key, its code, opening time, assignee,
the recipients already told and any acknowledgement. A new leader adopts them on its first turn
(``continuity.py``), or when it is signalled the condition, without a second opening message; the
resolution then reaches everyone the old leader told. A coordinator that cannot answer never
blocks an alert: the notifier then behaves as if alone (it may repeat an opening message).
"""

from __future__ import annotations

import logging
from typing import Protocol

from controller.coordination.base import JsonDoc
from controller.notifier.incidents import Incident

log = logging.getLogger("hotline.notifier")

KEY = "incidents"
NUMBERS = "incident_numbers"  # {"next": N}: the cluster's next incident number
NOTICES = "notices"  # {kind: ident}: the last notice of each kind, told once per action


class SharedDocs(Protocol):
    """The coordinator's shared state (``Coordinator.get``/``put``): small JSON documents."""

    async def get(self, key: str) -> JsonDoc | None: ...

    async def put(self, key: str, value: JsonDoc | None) -> None: ...


def entry(inc: Incident, told: list[str]) -> JsonDoc:
    """An open incident's entry: what a new leader needs to continue it (``Notifier._adopt``)."""
    return {
        "number": inc.id,
        "members": {k: dict(v) for k, v in inc.members.items()},
        "code": inc.code,
        "opened_at": inc.opened_at.isoformat(),
        "assignee": inc.assignee,
        "severity": inc.severity,
        "summary": inc.summary,
        "route": inc.route,
        "acked_by": inc.acked_by,
        "told": told,
    }


class SharedIncidents:
    def __init__(self, docs: SharedDocs) -> None:
        self.docs = docs

    async def load(self) -> dict[str, JsonDoc]:
        try:
            doc = await self.docs.get(KEY)
        except Exception as exc:  # CoordinationError or a backend hiccup: alerts go on
            log.warning("notifier.shared_unreadable error=%s", type(exc).__name__)
            return {}
        return dict(doc or {})

    async def load_strict(self) -> dict[str, JsonDoc]:
        """The open incidents, raising when the shared state cannot be read (not ``{}``)."""
        return dict(await self.docs.get(KEY) or {})

    async def publish(self, key: str, entry: JsonDoc | None) -> None:
        """Set (or, with None, remove) one incident's entry; only the leader's writes land."""
        try:
            doc = await self.load()
            if entry is None:
                if doc.pop(key, None) is None:
                    return
            else:
                doc[key] = entry
            await self.docs.put(KEY, doc)
        except Exception as exc:
            log.warning("notifier.shared_unwritable key=%s error=%s", key, type(exc).__name__)

    async def take_number(self, local_next: int) -> int:
        """The next incident number across leaders (at least ``local_next``), reserved."""
        try:
            doc = await self.docs.get(NUMBERS) or {}
            number = max(int(doc.get("next", 1)), local_next)
            await self.docs.put(NUMBERS, {"next": number + 1})
            return number
        except Exception as exc:  # numbering must never block an alert
            log.warning("notifier.shared_numbers error=%s", type(exc).__name__)
            return local_next

    async def new_notice(self, kind: str, ident: str) -> bool:
        """Whether a notice is news (not already told by this or a previous leader)."""
        try:
            doc = dict(await self.docs.get(NOTICES) or {})
            if doc.get(kind) == ident:
                return False
            doc[kind] = ident
            await self.docs.put(NOTICES, doc)
        except Exception as exc:
            log.warning("notifier.shared_notices error=%s", type(exc).__name__)
        return True
