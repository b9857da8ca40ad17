"""The API's answers as sentences: a 422 names the CLI option and says what is wrong with it, a
refusal speaks of ``--force``, and nothing shows Python's ``None`` or raw JSON to a person."""

from __future__ import annotations

import json
import re

OPTION_OF_FIELD = {
    "ttl_s": "--ttl",
    "reason": "--reason",
    "to": "--to",
    "force": "--force",
    "since": "--since",
    "limit": "--limit",
    "state": "--open",
    "note": "--note",
    "called_back_at": "--at",
    "by": "--by",
    "component": "COMPONENT",
    "incident_id": "ID",
    "callback_id": "ID",
}
_NUMBER = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)")


def text(value: object, missing: str = "unknown") -> str:
    """A value for a person: ``missing`` instead of None or an empty string."""
    if value is None or value == "":
        return missing
    return str(value)


def duration(seconds: float) -> str:
    """604800 → '7 days'; 5400 → '1.5 hours'; 90 → '90 s'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or seconds / size >= 1.5):
            n = seconds / size
            shown = f"{n:g}"
            return f"{shown} {unit}" + ("" if shown == "1" else "s")
    return f"{seconds:g} s"


def _bound(field: str, number: str) -> str:
    if field == "ttl_s":
        value = float(number)
        words = duration(value)
        return words if words.endswith(" s") else f"{words} ({value:g} s)"
    return number


def _issue(issue: object) -> str:
    if not isinstance(issue, dict):
        return str(issue)
    loc = [str(p) for p in issue.get("loc", []) if p not in ("body", "query", "path")]
    field = loc[-1] if loc else ""
    option = OPTION_OF_FIELD.get(field, field.replace("_", "-") or "the request")
    msg = str(issue.get("msg", "is not valid"))
    kind = str(issue.get("type", ""))
    m = _NUMBER.search(msg)
    number = _bound(field, m.group(1)) if m else ""
    says = (
        {
            "less_than_equal": f"must be at most {number}",
            "less_than": f"must be less than {number}",
            "greater_than": f"must be more than {number}",
            "greater_than_equal": f"must be at least {number}",
            "string_too_long": f"must be at most {number} characters",
            "string_too_short": f"must be at least {number} characters",
            "missing": "is required",
            "extra_forbidden": "is not an option the controller knows",
        }.get(kind)
        if number or kind in ("missing", "extra_forbidden")
        else None
    )
    if says is None:
        says = msg[:1].lower() + msg[1:] if msg else "is not valid"
    return f"{option}: {says}"


def refused_words(message: str) -> str:
    """The controller's words, with its field names turned into the CLI's options."""
    return re.sub(r"\bset force\b", "add --force", message)


def describe(status: int, body: object) -> str:
    """One sentence (or one per faulty field) for a failed call."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if status == 422 and isinstance(detail, list):
        return "; ".join(_issue(i) for i in detail) or "the controller refused the input"
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return refused_words(value)
    if status == 401:
        return "no token, or a token the controller does not know (--token / HOTLINE_TOKEN)"
    if status == 403:
        return "this token's role may not do that"
    return json.dumps(body)[:300]


def error_line(status: int, body: object) -> str:
    """``HTTP 403: ...`` or, without an answer, the reason alone (it names the URL)."""
    words = describe(status, body)
    if status == 0:
        return words
    hints = {
        401: " (check --token / HOTLINE_TOKEN)",
        403: " (a token with another role is needed)",
        404: "",
    }
    return f"HTTP {status}: {words}{hints.get(status, '')}"
