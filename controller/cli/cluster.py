"""``hotline cluster``: the members of the cluster, like ``patronictl list`` (over the HTTP API).

One row per live member, from ``GET /v1/cluster`` of whichever node ``--url`` names (every node
answers from the same member records): node, role, may-actuate, epoch, ZooKeeper session, when
it last published its record, and whether it holds the modem. ``--watch SECONDS`` redraws until
interrupted (bounded by ``--count`` when given). Exit 0 when a node may actuate, 1 otherwise or
when the API cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from controller.cli.args import Subparsers
from controller.cli.client import JsonDoc, api_args
from controller.cli.exits import EXIT_OK, EXIT_REFUSED
from controller.cli.messages import error_line
from controller.cli.ops import _client

COLUMNS = ("node", "role", "acts", "epoch", "session", "last seen", "modem", "api")


def _ago(value: object, now: datetime | None) -> str:
    if not isinstance(value, str):
        return "-"
    try:
        seen = datetime.fromisoformat(value)
    except ValueError:
        return "-"
    if now is None:
        return seen.strftime("%H:%M:%S")
    return f"{max(0.0, (now - seen).total_seconds()):.1f}s ago"


def format_cluster(report: JsonDoc) -> str:
    """The table; "last seen" is relative to when the answering node read the records."""
    as_of = report.get("as_of")
    now = datetime.fromisoformat(as_of) if isinstance(as_of, str) else None
    rows = [COLUMNS]
    for m in report.get("members", []):
        rows.append(
            (
                str(m.get("node")),
                str(m.get("role")),
                "yes" if m.get("may_actuate") else "no",
                str(m.get("epoch") if m.get("epoch") is not None else "-"),
                str(m.get("session")),
                _ago(m.get("last_seen"), now),
                "HOLDS" if m.get("holds_modem") else "-",
                str(m.get("api") or "-"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [
        f"cluster epoch {report.get('cluster_epoch')}  leader {report.get('leader')}  "
        f"(as read by {report.get('node')})"
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    if report.get("error"):
        lines.append(f"note: {report['error']}")
    return "\n".join(line.rstrip() for line in lines)


def _once(args: argparse.Namespace) -> int:
    status, body = _client(args).call("GET", "/v1/cluster")
    if status != 200 or not isinstance(body, dict):
        print(error_line(status, body), file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps(body, indent=2) if args.json else format_cluster(body), flush=True)
    return EXIT_OK if body.get("leader") else EXIT_REFUSED


def _cluster(args: argparse.Namespace) -> int:
    if args.watch is None:
        return _once(args)
    code, shown = EXIT_REFUSED, 0
    while args.count is None or shown < args.count:
        if shown and sys.stdout.isatty():
            print("\033[2J\033[H", end="")
        elif shown:
            print()
        code = _once(args)
        shown += 1
        if args.count is None or shown < args.count:
            time.sleep(args.watch)
    return code


def register(sub: Subparsers) -> None:
    p = sub.add_parser("cluster", help="the cluster's members and who acts (over the API)")
    api_args(p)
    p.add_argument(
        "--watch", type=float, metavar="SECONDS", help="redraw every SECONDS (default: print once)"
    )
    p.add_argument(
        "--count", type=int, help="with --watch: stop after this many (default: until Ctrl-C)"
    )
    p.set_defaults(func=_cluster)
