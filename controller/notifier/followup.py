"""What happens to an incident after it opened, besides its signals: escalation, reminders, and
adoption by a new leader (each one store transaction and the messages it causes)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime

from controller.config import Technician
from controller.coordination.base import JsonDoc
from controller.notifier import gsm7
from controller.notifier.incidents import Incident, technician_recipient
from controller.notifier.signal import Signal
from controller.notifier.speak import Speaker
from controller.notifier.store import NotifierStore
from logsafe import esc

log = logging.getLogger("hotline.notifier")


def escalate(
    store: NotifierStore, say: Speaker, tech: Technician, inc: Incident, level: int, now: datetime
) -> None:
    with store.transaction():
        store.update_incident(
            inc.id, assignee=tech.name, escalation_level=level, last_escalated_at=now
        )
        store.add_timeline(
            inc.id, now, f"escalated to {tech.name} (no acknowledgement from {inc.assignee})"
        )
        moved = replace(inc, assignee=tech.name, escalation_level=level)
        r = technician_recipient(tech)
        say.incident(
            moved, f"escalate{level}", r, "escalate", at=now, prev=gsm7.clean(inc.assignee)
        )
    log.warning(
        "notifier.escalated id=%s from=%s to=%s level=%d", inc.id, inc.assignee, tech.name, level
    )


def remind(
    store: NotifierStore,
    say: Speaker,
    tech: Technician | None,
    inc: Incident,
    number: int,
    now: datetime,
) -> None:
    with store.transaction():
        store.update_incident(inc.id, reminders=number, last_reminded_at=now)
        store.add_timeline(inc.id, now, f"reminder {number} to {inc.assignee}")
        if tech is not None:
            say.incident(inc, f"remind{number}", technician_recipient(tech), "remind", at=now)
    log.info("notifier.reminded id=%s to=%s number=%d", inc.id, inc.assignee, number)


def adopt(store: NotifierStore, group: str, s: Signal, prior: JsonDoc, oncall: str) -> Incident:
    """Open locally the incident a previous leader opened, with its number, code, members and
    the recipients it told (the resolution reaches them), without telling anyone now."""
    told = [str(x) for x in prior.get("told", [])]
    with store.transaction():
        inc_id = store.open_incident(
            key=group,
            severity=str(prior.get("severity", s.severity)),
            summary=str(prior.get("summary", s.summary)),
            detail=s.detail,
            route=prior.get("route"),
            epoch=s.epoch,
            code=str(prior["code"]),
            at=datetime.fromisoformat(prior["opened_at"]),
            assignee=str(prior.get("assignee", oncall)),
            number=int(prior["number"]) if prior.get("number") else None,
            members=json.dumps(prior.get("members") or {}),
        )
        if prior.get("acked_by"):
            store.update_incident(inc_id, acked_at=s.at, acked_by=prior["acked_by"])
        for label in told:
            store.record_told(inc_id, label, s.at)
        store.add_timeline(
            inc_id, s.at, f"continued by this leader; already told: {', '.join(told) or '-'}"
        )
    log.info("notifier.incident_adopted id=%s key=%s told=%d", inc_id, esc(group, 80), len(told))
    inc = store.incident(inc_id)
    assert inc is not None
    return inc
