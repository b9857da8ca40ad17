"""Each SMS template's worst case, for ``hotline config check``: the text rendered with the
longest values the config allows (every route component down, the longest technician name, a
four-digit incident number, a long reason), counted in SMS parts as the network counts them."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

from controller.config import HotlineConfig
from controller.notifier import gsm7
from controller.notifier import messages as m
from controller.notifier.incidents import Incident
from controller.notifier.texts import MEMBER_ORDER, Components, Texts, route_words

SMS_KEYS = ("open", "update", "remind", "escalate", "resolve", "manual", "paused", "status")
_AT = datetime(2026, 7, 1, 21, 59, tzinfo=UTC)  # 23:59 CEST: the longest zone name of the year


def parts(text: str) -> tuple[int, str]:
    """(SMS parts, encoding) of ``text``: 160/153 septets (GSM-7) or 70/67 units (UCS-2)."""
    units = gsm7.sms_units(text)
    if gsm7.is_gsm7(text):
        return (1 if units <= 160 else math.ceil(units / 153)), "GSM-7"
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2"


def _incident(cfg: HotlineConfig, down: tuple[str, ...], name: str) -> Incident:
    member = {"severity": "critical", "summary": "switch to secondary FAILED (modem)",
              "down": list(down)}  # fmt: skip
    return Incident(
        id=9999, key="outage", severity="critical", summary="", detail="", route="oncall",
        epoch=None, code="XXXXXX", state="open", opened_at=_AT, resolved_at=None, acked_at=None,
        acked_by=None, assignee=name, escalation_level=1, last_escalated_at=_AT, reminders=9,
        last_reminded_at=None, members={k: member for k in MEMBER_ORDER},
    )  # fmt: skip


def render_all(cfg: HotlineConfig, t: Texts) -> dict[str, str]:
    """Every SMS template of ``t`` with worst-case values."""
    lines = cfg.lines
    down = tuple(dict.fromkeys((*lines.primary.depends_on, *lines.secondary.depends_on,
                                *cfg.pbx_cluster.nodes)))  # fmt: skip
    comps = Components({n: c.description for n, c in cfg.components.items()},
                       (cfg.pbx_cluster.name, "PBX cluster"))  # fmt: skip
    name = max((x.name for x in cfg.oncall.technicians), key=len)
    inc = _incident(cfg, down, name)
    tz = cfg.oncall.timezone
    out = {
        key: m.sms(t, key, comps, inc, tz, name + "x", "nobody", _AT, prev=name)
        for key in ("open", "update", "remind", "escalate")
    }
    out["resolve"] = m.sms_resolve(t, replace(inc, resolution="x" * 120), tz, _AT, "x", "x" * 120)
    why = "w" * 120
    for key in ("manual", "paused"):
        words = route_words(t, "oncall", name + "x", "nobody")
        out[key] = t.sms(key, {"who": name, "why": why, "route": words, "until": "23:59"}, "why")
    listing = f"#9999 XXXXXX ({m.what(t, comps, inc)[:40]})"
    opened = t.fill(t.raw("status_open"), open=", ".join([listing] * 2))
    out["status"] = t.fill(t.raw("status"), at="23:59 CEST", route=route_words(t, "secondary",
                           None, name), open=opened)  # fmt: skip
    return out


def report(cfg: HotlineConfig) -> list[str]:
    """One line per configured language: each template's worst case in SMS parts."""
    s = cfg.notifier
    lines = []
    for lang in sorted({s.language, *s.languages.values()}):
        t = Texts(lang, s.templates.get(lang), s.transliterate)
        counted = {k: parts(v) for k, v in render_all(cfg, t).items()}
        enc = {e for _, e in counted.values()}
        shown = ", ".join(f"{k} {n}" for k, (n, _) in counted.items())
        hint = " (UCS-2: set notifier.transliterate)" if "UCS-2" in enc else ""
        lines.append(f"  texts {t.lang:<7} SMS parts, worst case: {shown}{hint}")
    return lines
