"""``hotline status``: the text, and its check-command verdict (see ``controller.cli.exits``).

Verdict, worst first:

- 2 CRITICAL: a total outage; paused on a route that is down; the route in force is unknown, not
  verified, or its last change FAILED.
- 1 WARNING: calls do not take the primary line (outside off-hours), a partial outage, unknown
  health, paused, a manual override (or one refused), flapping, or no node may actuate.
- 0 OK otherwise. (3 UNKNOWN: the controller did not answer; decided by the caller.)
"""

from __future__ import annotations

from controller.cli.client import JsonDoc
from controller.cli.exits import CHECK_CRITICAL, CHECK_OK, CHECK_WARNING
from controller.cli.messages import refused_words, text

CONDITION_WORDS = {
    "flapping": "flapping (switches held back)",
    "health_unknown": "health not known yet",
    "partial_outage": "partial outage (one line down)",
    "total_outage": "TOTAL OUTAGE (no line up)",
    "off_hours": "off hours",
    "paused": "paused",
    "pause_expired": "pause expired",
    "paused_on_down_route": "PAUSED ON A ROUTE THAT IS DOWN",
    "override": "manual override",
    "override_refused": "override refused (target down)",
    "override_expired": "override expired",
    "failback_pending": "failback pending (waiting for the hold time)",
}
VERDICT = {CHECK_OK: "OK", CHECK_WARNING: "WARNING", CHECK_CRITICAL: "CRITICAL"}


def verdict(s: JsonDoc) -> tuple[int, str]:
    """The check's exit code and why, in a few words."""
    a = s.get("active") or {}
    conds = set(s.get("conditions") or [])
    route = a.get("route")
    critical = []
    if "total_outage" in conds:
        critical.append("total outage")
    if "paused_on_down_route" in conds:
        critical.append("paused on a route that is down")
    if route is None:
        critical.append("route in force unknown")
    elif a.get("failed"):
        critical.append("last change FAILED")
    elif not a.get("verified"):
        critical.append("route not verified")
    if critical:
        return CHECK_CRITICAL, "; ".join(critical)
    warning = []
    if route != "primary" and "off_hours" not in conds:
        warning.append(f"calls take the {route} route")
    for cond in ("partial_outage", "health_unknown", "flapping", "override_refused"):
        if cond in conds:
            warning.append(CONDITION_WORDS[cond])
    if s.get("mode") in ("paused", "override"):
        warning.append(str(s["mode"]))
    if s.get("leader") is None:
        warning.append("no node may actuate")
    if warning:
        return CHECK_WARNING, "; ".join(warning)
    return CHECK_OK, f"calls take the {route} route, verified"


def check_line(s: JsonDoc) -> tuple[int, str]:
    code, why = verdict(s)
    return code, f"HOTLINE {VERDICT[code]}: {why}"


def format_status(s: JsonDoc) -> str:
    a = s.get("active") or {}
    flags = ("verified" if a.get("verified") else "NOT verified") + (
        ", last change FAILED" if a.get("failed") else ""
    )
    acting = "may actuate" if s.get("may_actuate") else "may not actuate"
    epoch = f"  epoch {s['epoch']}" if s.get("epoch") is not None else ""
    since = f" since {a['since']}" if a.get("since") else ""
    lines = [
        f"node {text(s.get('node'))} ({acting})  leader {text(s.get('leader'), 'none')}  "
        f"mode {text(s.get('mode'))}{epoch}",
        f"route   {text(a.get('route'), 'unknown')} → {text(a.get('number'), 'no forward')}"
        f"{since} ({flags})",
        f"desired {text(s.get('desired'), 'none yet')}: "
        + refused_words(text(s.get("reason"), "no decision yet")),
        f"on call {text(s.get('oncall'), 'nobody known')}",
    ]
    lines += _cluster_lines(s.get("cluster"))
    if s.get("conditions"):
        words = [CONDITION_WORDS.get(c, str(c).replace("_", " ")) for c in s["conditions"]]
        lines.append("conditions " + ", ".join(words))
    if s.get("override"):
        o = s["override"]
        lines.append(
            f"override to {text(o.get('to'))} by {text(o.get('who'))} until "
            f"{text(o.get('expires_at'))}: {text(o.get('reason'), 'no reason given')}"
        )
    if s.get("pause"):
        p = s["pause"]
        lines.append(f"paused by {text(p.get('who'))}: {text(p.get('reason'), 'no reason given')}")
    for c in s.get("components", []):
        lines.append(
            f"  {text(c.get('name')):<16} {text(c.get('kind')):<9} "
            f"{text(c.get('status')):<8} {c.get('reason') or ''}".rstrip()
        )
    return "\n".join(lines)


def _cluster_lines(c: object) -> list[str]:
    """Who wrote the route and what the modem last read back (the same on every node)."""
    if not isinstance(c, dict):
        return []
    out = []
    w, rb = c.get("written_by"), c.get("readback")
    if isinstance(w, dict):
        who = "the last-resort rule" if w.get("kind") == "last-resort" else "leader"
        epoch = f" epoch {w['epoch']}" if w.get("epoch") is not None else ""
        at = f" at {w['at']}" if w.get("at") else ""
        out.append(f"written by {who} {text(w.get('node'))}{epoch}{at}")
    if isinstance(rb, dict):
        at = f" at {rb['at']}" if rb.get("at") else ""
        out.append(
            f"modem read back {rb.get('number') or 'no forward'} ({text(rb.get('route'))})"
            f"{at} by {text(rb.get('node'))}"
        )
    if c.get("note"):
        out.append(f"note    {c['note']}")
    return out
