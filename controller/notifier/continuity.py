"""A new leader's notifier takes the cluster's open incidents as its own, before anything else.

The open incidents live in the coordinator's shared state (``shared.py``); each node's SQLite
store is only its copy. A node that becomes leader may hold a stale copy (incidents the other
leader resolved since, or none of the ones it opened), so on its first turn as leader, before it
handles a signal, runs reminders or answers a read, it brings its copy in line, silently:

- an incident open in the shared state and not here is adopted (its number, code, assignee, the
  recipients told and any acknowledgement), so ``/v1/incidents`` lists it, reminders and
  escalation continue, ``ACK`` works and the resolution reaches everyone who was told;
- an incident open here but not in the shared state (or under another number) was resolved by
  another leader: it is closed here without a message, and its queued reminders are cancelled.

If the shared state cannot be read, nothing changes and the next turn tries again: a coordinator
that cannot answer never closes an incident.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from controller.notifier import followup
from controller.notifier.signal import Severity, Signal
from logsafe import esc

if TYPE_CHECKING:
    from controller.notifier.service import Notifier

log = logging.getLogger("hotline.notifier")


async def sync_with_cluster(n: Notifier, now: datetime) -> bool:
    """Bring ``n``'s store in line with the shared open incidents; False if unreadable."""
    if n.shared is None:
        return True
    try:
        shared = await n.shared.load_strict()
    except Exception as exc:  # CoordinationError or a backend hiccup: try on the next turn
        log.warning("notifier.sync_unreadable error=%s", type(exc).__name__)
        return False
    for inc in n.store.incidents(state="open", limit=1000):
        prior = shared.get(inc.key)
        if prior is not None and int(prior.get("number") or 0) == inc.id:
            continue
        with n.store.transaction():
            n.store.update_incident(
                inc.id, state="resolved", resolved_at=now, resolution="resolved by another leader",
                members="{}",
            )  # fmt: skip
            n.store.add_timeline(inc.id, now, "resolved by another leader (cluster state)")
            n.store.cancel_pending(inc.id)
        log.info("notifier.incident_closed_as_stale id=%s key=%s", inc.id, inc.key)
    for group, prior in shared.items():
        if n.store.open_incident_for(group) is not None:
            continue
        number = int(prior.get("number") or 0)
        if number and n.store.incident(number) is not None:
            who = esc(group, 80)  # a key of the cluster's shared state (ZooKeeper data)
            log.warning("notifier.adopt_skipped id=%s key=%s reason=number_in_use", number, who)
            continue
        s = Signal(
            key=group,
            active=True,
            severity=Severity(str(prior.get("severity", Severity.WARNING))),
            summary=str(prior.get("summary", "")),
            detail="",
            at=now,
            route=prior.get("route"),
        )
        followup.adopt(n.store, group, s, prior, n.oncall_recipient(now).label)
    return True
