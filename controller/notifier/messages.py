"""Message texts: a short, actionable SMS and a detailed e-mail for each transition.

The SMS says what is down, where calls go now, since when and how to acknowledge, in one
160-character GSM-7 message where possible: our templates use GSM-7 characters only (no "|",
which costs two septets, no accents); only the controller's summary is shortened to fit.
Times are shown in the on-call time zone; the e-mail adds the detail and the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from controller.notifier import gsm7
from controller.notifier.incidents import Incident

_ROUTE_WORDS = {
    "primary": "primary line",
    "secondary": "secondary line",
    "oncall": "the on-call mobile",
}


def local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M %Z")


def local_full(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def duration(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def calls_go(route: str | None, oncall_name: str | None, recipient: str) -> str:
    """Where calls go now, from the recipient's point of view."""
    if route is None:
        return ""
    if route == "oncall" and oncall_name is not None:
        return (
            "Calls ring YOUR mobile. "
            if oncall_name == recipient
            else (f"Calls ring {gsm7.clean(oncall_name)}'s mobile. ")
        )
    return f"Calls go to {_ROUTE_WORDS.get(route, gsm7.clean(route))}. "


def _sev(inc: Incident) -> str:
    return inc.severity.upper()


def sms_open(inc: Incident, tz: str, oncall_name: str | None, recipient: str) -> str:
    head = f"HOTLINE {_sev(inc)} #{inc.id}: "
    tail = (
        f". {calls_go(inc.route, oncall_name, recipient)}"
        f"Since {local(inc.opened_at, tz)}. Reply ACK {inc.code}"
    )
    return gsm7.fit(head, inc.summary.rstrip("."), tail)


def sms_escalate(inc: Incident, tz: str, oncall_name: str | None, recipient: str, prev: str) -> str:
    head = f"HOTLINE {_sev(inc)} #{inc.id} ESCALATED to you, no ACK from {gsm7.clean(prev)}: "
    tail = (
        f". {calls_go(inc.route, oncall_name, recipient)}"
        f"Since {local(inc.opened_at, tz)}. Reply ACK {inc.code}"
    )
    return gsm7.fit(head, inc.summary.rstrip("."), tail)


def sms_remind(inc: Incident, tz: str, oncall_name: str | None, recipient: str) -> str:
    head = f"HOTLINE REMINDER #{inc.id} open since {local(inc.opened_at, tz)}: "
    tail = f". {calls_go(inc.route, oncall_name, recipient)}Reply ACK {inc.code}"
    return gsm7.fit(head, inc.summary.rstrip("."), tail)


def sms_route(inc: Incident, tz: str, oncall_name: str | None, recipient: str, at: datetime) -> str:
    head = f"HOTLINE {_sev(inc)} #{inc.id} UPDATE {local(at, tz)}: "
    ack = "" if inc.acked_at is not None else f" Reply ACK {inc.code}"
    tail = f". {calls_go(inc.route, oncall_name, recipient).strip()}{ack}"
    return gsm7.fit(head, inc.summary.rstrip("."), tail)


def sms_resolve(inc: Incident, tz: str, resolved_at: datetime, summary: str) -> str:
    head = f"HOTLINE RESOLVED #{inc.id}: "
    tail = (
        f". Was open {local(inc.opened_at, tz)} to {local(resolved_at, tz)}"
        f" ({duration(resolved_at - inc.opened_at)})."
    )
    return gsm7.fit(head, (summary or inc.summary).rstrip("."), tail)


def email_subject(inc: Incident, what: str) -> str:
    return gsm7.clean(f"[hotline {inc.severity}] #{inc.id} {what}: {inc.summary}")[:200]


def email_body(
    inc: Incident,
    tz: str,
    what: str,
    timeline: Sequence[tuple[datetime, str]],
    oncall_name: str | None,
) -> str:
    lines = [
        f"Incident #{inc.id} ({inc.key}) {what}.",
        "",
        f"Severity:     {inc.severity}",
        f"Summary:      {gsm7.clean(inc.summary)}",
        f"Opened:       {local_full(inc.opened_at, tz)}",
    ]
    if inc.resolved_at is not None:
        lines.append(
            f"Resolved:     {local_full(inc.resolved_at, tz)}"
            f" (open {duration(inc.resolved_at - inc.opened_at)})"
        )
    if inc.route is not None:
        lines.append(
            f"Calls go to:  {_ROUTE_WORDS.get(inc.route, inc.route)}"
            + (f" ({oncall_name})" if inc.route == "oncall" and oncall_name else "")
        )
    lines.append(f"Assigned to:  {inc.assignee} (escalation level {inc.escalation_level})")
    if inc.acked_at is not None:
        lines.append(f"Acknowledged: {local_full(inc.acked_at, tz)} by {inc.acked_by}")
    elif inc.state == "open":
        lines += [
            "",
            f'To acknowledge: reply "ACK {inc.code}" by SMS from your registered mobile,',
            f"or POST /v1/incidents/{inc.id}/ack on the controller's API, or use the dashboard.",
        ]
    if inc.epoch is not None:
        lines.append(f"Leader epoch: {inc.epoch}")
    lines += ["", "Detail:", inc.detail or "(none)", "", "Timeline:"]
    lines += [f"  {local_full(at, tz)}  {what_}" for at, what_ in timeline]
    return "\n".join(lines) + "\n"


def sms_undeliverable(kind: str, recipient: str, channels: Sequence[str], why: str) -> str:
    head = f"HOTLINE: a {kind} alert for {gsm7.clean(recipient)} could not be delivered"
    return gsm7.fit(head + f" via {'/'.join(channels)}: ", why, ".")
