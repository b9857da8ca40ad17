"""``hotline incidents``, ``hotline ack``, ``hotline callbacks``: the notifier's incidents and the
PBX's callback list, over the API (``controller.notifier.api``).

    hotline incidents [--open]            the incidents, newest first
    hotline ack 3 | hotline ack K7M2Q9    acknowledge by id, or by the code the SMS carried
    hotline callbacks [--all]             missed calls still to call back (--all: closed too)
    hotline callbacks --done 5 [--note]   mark callback 5 as called back

Exit 0 done, 1 refused or not reachable (e.g. the incident is resolved, no such id), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable

from controller.cli.args import Subparsers
from controller.cli.client import JsonDoc, api_args
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from controller.cli.messages import error_line, text
from controller.cli.ops import _client
from modem.e164 import is_e164

_CODE = re.compile(r"^[A-Za-z2-9]{6}$")
_ID_MAX = 2**63 - 1


def format_incident(i: JsonDoc) -> str:
    if i.get("acknowledged_at"):
        acked = f"acknowledged by {text(i.get('acknowledged_by'))} at {i['acknowledged_at']}"
    elif i.get("state") == "open":
        acked = "NOT acknowledged"
    else:
        acked = "never acknowledged"
    ended = f", resolved {i['resolved_at']}" if i.get("resolved_at") else ""
    return (
        f"#{text(i.get('id'))} {text(i.get('state')):<8} {text(i.get('severity')):<8} "
        f"opened {text(i.get('opened_at'))}{ended}; on {text(i.get('assignee'), 'nobody')}, "
        f"{acked}\n    {text(i.get('summary'), 'no summary')}"
    )


def format_callback(c: JsonDoc) -> str:
    # The API's one normalised form: the E.164 number, else its words for a withheld or junk
    # caller (never the raw value, which may hold bidi or control characters).
    caller = c.get("caller") or c.get("caller_display") or "a withheld or unknown number"
    if not is_e164(str(caller)) and c.get("caller_display"):
        caller = str(c["caller_display"])
    if c.get("state") == "closed":
        done = f"called back by {text(c.get('closed_by'))} at {text(c.get('closed_at'))}"
    else:
        done = "to call back"
    note = f" ({c['note']})" if c.get("note") else ""
    return (
        f"#{text(c.get('id'))} {caller:<20} missed {text(c.get('missed_at'))} on "
        f"{text(c.get('line'))}: {done}{note}"
    )


def _listing(args: argparse.Namespace, path: str, params: dict[str, str | int]) -> list[JsonDoc]:
    status, body = _client(args).call("GET", path, params=params)
    if status != 200 or not isinstance(body, list):
        raise _Failed(error_line(status, body))
    return [row for row in body if isinstance(row, dict)]


class _Failed(Exception):
    """The API said no, or did not answer: the message, exit 1."""


def _show(
    args: argparse.Namespace,
    path: str,
    params: dict[str, str | int],
    empty: str,
    line: Callable[[JsonDoc], str],
) -> int:
    """A listing printed one row a line (or as JSON), ``empty`` when there is none."""
    try:
        rows = _listing(args, path, params)
    except _Failed as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print(empty)
    for row in rows:
        print(line(row))
    return EXIT_OK


def _incidents(args: argparse.Namespace) -> int:
    params: dict[str, str | int] = {"limit": args.limit}
    if args.open:
        params["state"] = "open"
    empty = "no open incidents" if args.open else "no incidents"
    return _show(args, "/v1/incidents", params, empty, format_incident)


def _incident_id(args: argparse.Namespace, ref: str) -> int:
    if ref.isdigit() and 1 <= int(ref) <= _ID_MAX:
        return int(ref)
    if not _CODE.match(ref):
        raise ValueError(
            f"not an incident id or code: {ref[:20]!r} (an id like 3, or the 6-letter code "
            "of the SMS, e.g. K7M2Q9)"
        )
    rows = _listing(args, "/v1/incidents", {"code": ref.upper()})
    if not rows:
        raise _Failed(f"no open incident has the code {ref.upper()}")
    return int(rows[0]["id"])


def _ack(args: argparse.Namespace) -> int:
    try:
        incident = _incident_id(args, args.incident.strip())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except _Failed as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    status, body = _client(args).call("POST", f"/v1/incidents/{incident}/ack")
    if status != 200 or not isinstance(body, dict):
        print(error_line(status, body), file=sys.stderr)
        return EXIT_BAD_INPUT if status == 422 else EXIT_REFUSED
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(f"#{incident} acknowledged by {text(body.get('acknowledged_by'))}; reminders stop")
    return EXIT_OK


def _callbacks(args: argparse.Namespace) -> int:
    if args.done is not None:
        return _close_callback(args)
    params: dict[str, str | int] = {"include_closed": "true"} if args.all else {}
    empty = "no callbacks" if args.all else "no missed calls to call back"
    return _show(args, "/v1/callbacks", params, empty, format_callback)


def _close_callback(args: argparse.Namespace) -> int:
    if not 1 <= args.done <= _ID_MAX:
        print(f"--done: not a callback id: {args.done}", file=sys.stderr)
        return EXIT_BAD_INPUT
    body: JsonDoc = {"note": args.note} if args.note else {}
    status, answer = _client(args).call("POST", f"/v1/callbacks/{args.done}/close", json=body)
    if status != 200 or not isinstance(answer, dict):
        print(error_line(status, answer), file=sys.stderr)
        return EXIT_BAD_INPUT if status == 422 else EXIT_REFUSED
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(f"callback #{args.done} done: {format_callback(answer)}")
    return EXIT_OK


def register(sub: Subparsers) -> None:
    p = sub.add_parser("incidents", help="the notifier's incidents (over the API)")
    api_args(p)
    p.add_argument("--open", action="store_true", help="only the open ones")
    p.add_argument("--limit", type=int, default=50, help="at most this many")
    p.set_defaults(func=_incidents)
    p = sub.add_parser("ack", help="acknowledge an incident: stops its reminders (over the API)")
    api_args(p)
    p.add_argument("incident", metavar="ID|CODE", help="the incident's id, or the SMS's code")
    p.set_defaults(func=_ack)
    p = sub.add_parser("callbacks", help="missed calls to call back (over the API)")
    api_args(p)
    p.add_argument("--done", type=int, metavar="ID", help="mark callback ID as called back")
    p.add_argument("--note", default="", help="with --done: a note (e.g. the outcome)")
    p.add_argument("--all", action="store_true", help="list closed callbacks too")
    p.set_defaults(func=_callbacks)
