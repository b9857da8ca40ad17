"""``hotline handover [--to NODE]`` and ``hotline topology`` (over the API).

``handover`` asks the leader (``--url`` must name it; an admin token) to give up leadership; it
exits 0 once another node leads, 1 when nothing moved. ZooKeeper's election queue, not the
leader, picks the next leader, so ``--to NODE`` is honoured only where it is the queue's only
choice: NODE already leads (nothing to do), or NODE is the one other live member. With more
candidates it refuses (exit 2) rather than hand over to someone else.

``topology`` prints the call path from the config the node runs: the hotline number, each line's
number and what it depends on, and the technicians.
"""

from __future__ import annotations

import argparse
import json
import sys

from controller.cli.args import Subparsers
from controller.cli.client import ApiClient, JsonDoc, api_args
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from controller.cli.messages import error_line, text
from controller.cli.ops import _client, _print_action
from controller.cli.progress import wait_with_progress


def _cluster(client: ApiClient) -> JsonDoc:
    status, body = client.call("GET", "/v1/cluster")
    if status == 404:
        raise _Refused("--to needs the cluster view (GET /v1/cluster), which this node lacks", 2)
    if status != 200 or not isinstance(body, dict):
        raise _Refused(error_line(status, body), EXIT_REFUSED)
    return body


class _Refused(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _check_target(client: ApiClient, target: str) -> bool:
    """True when ``target`` leads already; raises ``_Refused`` when it cannot be chosen."""
    report = _cluster(client)
    members = [m for m in report.get("members", []) if isinstance(m, dict)]
    names = [str(m.get("node")) for m in members]
    leader = report.get("leader")
    if target not in names:
        listed = ", ".join(names) or "none"
        raise _Refused(f"--to {target}: not a live member of the cluster (members: {listed})", 2)
    if leader == target:
        return True
    others = [n for n in names if n != leader]
    if others != [target]:
        raise _Refused(
            f"--to {target}: {len(others)} nodes could take over ({', '.join(others)}) and "
            "ZooKeeper's election queue picks the next leader, not this command; run "
            "`hotline handover` without --to and check `hotline cluster`",
            EXIT_BAD_INPUT,
        )
    return False


def _handover(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.to:
        try:
            if _check_target(client, args.to):
                print(f"{args.to} leads already; nothing to hand over")
                return EXIT_OK
        except _Refused as exc:
            print(exc, file=sys.stderr)
            return exc.code
    label = f"waiting for another node to lead ({client.url})"
    status, body = wait_with_progress(label, lambda: client.call("POST", "/v1/leader/handover"))
    if status == 501:
        print(error_line(status, body), file=sys.stderr)
        return EXIT_REFUSED
    code = _print_action(status, body, args.json)
    if code == EXIT_OK and args.to:
        leader = _cluster(client).get("leader")
        if leader != args.to:
            print(f"but {text(leader, 'no node')} leads, not {args.to}", file=sys.stderr)
            return EXIT_REFUSED
    return code


def format_topology(t: JsonDoc) -> str:
    lines = [f"hotline {text(t.get('hotline'))} (as configured on {text(t.get('node'))})"]
    for name, line in (t.get("lines") or {}).items():
        needs = ", ".join(line.get("depends_on") or []) or "nothing"
        lines.append(f"  {name:<10} → {text(line.get('number'))}  needs {needs}")
    techs = ", ".join(t.get("technicians") or []) or "none"
    lines.append(f"  {'oncall':<10} → the on-call technician's mobile ({techs})")
    return "\n".join(lines)


def _topology(args: argparse.Namespace) -> int:
    status, body = _client(args).call("GET", "/v1/topology")
    if status != 200 or not isinstance(body, dict):
        print(error_line(status, body), file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps(body, indent=2) if args.json else format_topology(body))
    return EXIT_OK


def register(sub: Subparsers) -> None:
    p = sub.add_parser("handover", help="the leader gives up leadership (admin; over the API)")
    api_args(p)
    p.add_argument(
        "--to",
        metavar="NODE",
        help="only if NODE becomes the leader: it leads already or is the only other member",
    )
    p.set_defaults(func=_handover)
    p = sub.add_parser("topology", help="the call path: numbers, lines, needs (over the API)")
    api_args(p)
    p.set_defaults(func=_topology)
