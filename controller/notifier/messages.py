"""An incident's texts: the SMS of each transition (from ``texts.py``'s templates, in the
recipient's language) and the detailed e-mail.

The SMS says what broke (the components' descriptions, not "route1"), where calls go now from
the reader's point of view, since when, the next step and the code; the e-mail adds the detail
of every signal and the timeline. Times are shown in the on-call time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from controller.notifier import gsm7
from controller.notifier.incidents import Incident
from controller.notifier.texts import MEMBER_ORDER, Components, Texts, calls, duration
from controller.notifier.texts import local as hhmm

__all__ = ["duration", "email_body", "email_subject", "local", "local_full", "sms", "what"]

_TARGET = re.compile(r"switch to (\w+)")


def local(at: datetime, tz: str) -> str:
    """``HH:MM`` and the zone (call alerts)."""
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M %Z")


def local_full(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _ordered(members: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rank = {k: i for i, k in enumerate(MEMBER_ORDER)}
    return sorted(members, key=lambda k: rank.get(k, len(rank)))


def _target(member: Mapping[str, Any]) -> str:
    m = _TARGET.search(str(member.get("summary", "")))
    return m.group(1) if m else "?"


def what(t: Texts, comps: Components, inc: Incident, lead: str | None = None) -> str:
    """What broke, in the reader's words, most urgent first (``lead``, the news, before all)."""
    phrases: list[str] = []
    order = _ordered(inc.members)
    if lead in order:
        order = [lead, *(k for k in order if k != lead)]
    for key in order:
        m = inc.members[key]
        down = tuple(m.get("down", ()))
        if key == "route":
            phrase = (
                t.fill(t.raw("what", "route"), broke=comps.broke(t, down))
                if down
                else t.raw("what", "route_nothing_down")
            )
        elif key in MEMBER_ORDER:
            phrase = t.fill(t.raw("what", key), target=_target(m), first=(down or ("?",))[0])
        else:
            phrase = t.fill(t.raw("what", "other"), summary=gsm7.clean(str(m.get("summary", ""))))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return "; ".join(phrases) or gsm7.clean(inc.summary)


def next_step(t: Texts, comps: Components, inc: Incident) -> str:
    for key in _ordered(inc.members):
        m = inc.members[key]
        down = tuple(m.get("down", ()))
        template = t.raw("next", key if key in MEMBER_ORDER else "other")
        first = down[0] if down else "?"  # the short name: the dashboard's and the CLI's
        if key == "route" and not down:
            continue
        return t.fill(template, first=first, target=_target(m))
    return ""


def values(
    t: Texts,
    comps: Components,
    inc: Incident,
    tz: str,
    oncall: str | None,
    recipient: str,
    at: datetime | None = None,
    lead: str | None = None,
) -> dict[str, object]:
    ack = "" if inc.acked_at is not None else t.fill(t.raw("ack_hint"), code=inc.code)
    return {
        "sev": t.severity(inc.severity),
        "id": inc.id,
        "code": inc.code,
        "what": what(t, comps, inc, lead),
        "calls": calls(t, inc.route, oncall, recipient),
        "since": hhmm(inc.opened_at, tz),
        "at": hhmm(at or inc.opened_at, tz),
        "next": next_step(t, comps, inc),
        "ack": ack,
    }


def sms(
    t: Texts,
    key: str,
    comps: Components,
    inc: Incident,
    tz: str,
    oncall: str | None,
    recipient: str,
    at: datetime | None = None,
    lead: str | None = None,
    **extra: object,
) -> str:
    """The SMS of transition ``key`` (open, update, remind, escalate) for ``recipient``."""
    v = values(t, comps, inc, tz, oncall, recipient, at, lead) | extra
    return t.sms(key, v)


def resolution(t: Texts, member: str, summary: str) -> str:
    """What ended the incident, in the reader's words (the RESOLVED SMS's and e-mail's news)."""
    phrase = t.raw("resolved", member) if member in t.data.get("resolved", {}) else ""
    return phrase or t.fill(t.raw("resolved", "default"), summary=gsm7.clean(summary))


def sms_resolve(
    t: Texts, inc: Incident, tz: str, resolved_at: datetime, member: str, summary: str
) -> str:
    v = {
        "id": inc.id,
        "what": resolution(t, member, summary),
        "since": hhmm(inc.opened_at, tz),
        "at": hhmm(resolved_at, tz),
        "duration": duration(resolved_at - inc.opened_at),
    }
    return t.sms("resolve", v)


def email_subject(inc: Incident, what_: str, about: str) -> str:
    return gsm7.clean(f"[hotline {inc.severity}] #{inc.id} {about}: {what_}")[:200]


def email_body(
    inc: Incident,
    tz: str,
    first_line: str,
    timeline: Sequence[tuple[datetime, str]],
    oncall_name: str | None,
) -> str:
    """The detailed e-mail: the SMS text first (current, not the opening's), then the facts."""
    lines = [
        first_line,
        "",
        f"Incident:     #{inc.id}, code {inc.code}, severity {inc.severity}",
        f"Opened:       {local_full(inc.opened_at, tz)}",
    ]
    if inc.resolved_at is not None:
        lines.append(
            f"Resolved:     {local_full(inc.resolved_at, tz)}"
            f" (open {duration(inc.resolved_at - inc.opened_at)})"
        )
    if inc.route is not None:
        who = f" ({oncall_name})" if inc.route == "oncall" and oncall_name else ""
        lines.append(f"Calls go to:  {inc.route}{who}")
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
    lines += ["", "Now:"]
    for key in _ordered(inc.members):
        m = inc.members[key]
        lines.append(f"  {key}: {gsm7.clean(str(m.get('summary', '')))}")
        if m.get("detail"):
            lines.append(f"    {gsm7.clean(str(m['detail']))}")
    if not inc.members:
        lines.append(f"  {gsm7.clean(inc.resolution or inc.summary)}")
    lines += ["", "Timeline:"]
    lines += [f"  {local_full(at, tz)}  {what_}" for at, what_ in timeline]
    return "\n".join(lines) + "\n"
