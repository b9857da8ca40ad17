"""``hotline run``, ``hotline demo`` and the CLI over the HTTP API (status, failover, failback,
pause, resume, events).

The API commands take ``--url``/``--token``/``--ca`` or ``HOTLINE_URL``/``HOTLINE_TOKEN``/
``HOTLINE_CA`` (``controller.cli.client``) and exit 0 when the controller reports the action done
and verified, 1 when it refused, could not verify in time, or could not be reached, 2 on bad input
(ours or as judged by the API's 422). ``status`` alone uses the check-command convention
(``controller.cli.status``). The token is sent only in the ``Authorization`` header and never
printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable

from controller.cli.args import Subparsers
from controller.cli.client import ApiClient, JsonDoc, api_args, resolve
from controller.cli.exits import CHECK_UNKNOWN, EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from controller.cli.messages import error_line, refused_words, text
from controller.cli.progress import wait_with_progress
from controller.cli.status import check_line, format_status

__all__ = ["JsonDoc", "format_status", "parse_ttl", "register"]

_TTL = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
STATUS_HELP = (
    "exit codes (check-command convention, Nagios/Icinga): 0 OK; 1 WARNING (degraded: calls "
    "not on the primary line, partial outage, paused, override, flapping, no node may actuate); "
    "2 CRITICAL (total outage, paused on a dead route, route unknown or not verified, last "
    "change FAILED) and also bad input; 3 UNKNOWN (the controller did not answer)"
)


def parse_ttl(text: str) -> float:
    """'30m' → 1800.0; '90' → 90.0 seconds; raises ValueError on anything else."""
    m = _TTL.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


# ---- run --------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from controller.config import ConfigError, load_config
    from controller.daemon import configure_logging, run_daemon

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.dry_run:
        dry = cfg.reconcile.model_copy(update={"dry_run": True})
        cfg = cfg.model_copy(update={"reconcile": dry})
    configure_logging(args.log_level)
    return asyncio.run(run_daemon(cfg, api=not args.no_api))


# ---- the API client ---------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> ApiClient:
    return ApiClient(resolve(args))


def _exit_for(status: int) -> int:
    if status == 200:
        return EXIT_OK
    if status in (400, 422):
        return EXIT_BAD_INPUT
    return EXIT_REFUSED


def _print_action(status: int, body: object, as_json: bool) -> int:
    if as_json and status:
        print(json.dumps(body, indent=2))
    elif status in (200, 202, 409) and isinstance(body, dict) and "accepted" in body:
        word = {200: "done", 202: "accepted, not verified yet", 409: "refused"}[status]
        message = refused_words(text(body.get("message"), "no message"))
        print(f"{word}: route {text(body.get('route'))}: {message}")
    else:
        print(error_line(status, body), file=sys.stderr)
    return _exit_for(status)


def _status(args: argparse.Namespace) -> int:
    status, body = _client(args).call("GET", "/v1/status")
    if status != 200 or not isinstance(body, dict):
        print(error_line(status, body), file=sys.stderr)
        return CHECK_UNKNOWN
    code, line = check_line(body)
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(line)
        print(format_status(body))
    return code


def _act(args: argparse.Namespace, path: str, body: JsonDoc) -> int:
    client = _client(args)
    label = f"waiting for the controller's verified result ({client.url})"
    answer = wait_with_progress(label, lambda: client.call("POST", path, json=body))
    return _print_action(*answer, args.json)


def _failover(args: argparse.Namespace) -> int:
    body: JsonDoc = {"to": args.to, "reason": args.reason, "force": args.force}
    if args.ttl is not None:
        try:
            body["ttl_s"] = parse_ttl(args.ttl)
        except ValueError as exc:
            print(f"--ttl: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return _act(args, "/v1/failover", body)


def _simple(path: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        body: JsonDoc = {"reason": args.reason}
        if getattr(args, "ttl", None):
            try:
                body["ttl_s"] = parse_ttl(args.ttl)
            except ValueError as exc:
                print(f"--ttl: {exc}", file=sys.stderr)
                return EXIT_BAD_INPUT
        return _act(args, path, body)

    return run


def format_event(e: JsonDoc) -> str:
    move = ""  # a manual action without a route change (handover, pause) has no "to"
    if e.get("route_to"):
        move = f" {text(e.get('route_from'), 'none')}→{e['route_to']}"
    elif e.get("route_from"):
        move = f" on {e['route_from']}"
    extra = "".join(f" {k}={e[k]}" for k in ("outcome", "who") if e.get(k) is not None)
    dur = f" {e['duration_ms']:.0f}ms" if e.get("duration_ms") is not None else ""
    ident = f"{e['node']}#{e.get('id')}" if e.get("node") else f"#{e.get('id')}"
    return f"{text(e.get('at'))} {ident} {text(e.get('kind'))}{move}{extra}{dur}: " + text(
        e.get("reason"), ""
    )


def _events(args: argparse.Namespace) -> int:
    params: dict[str, str | int] = {"limit": args.limit}
    if args.since:
        params["since"] = args.since
    status, body = _client(args).call("GET", "/v1/events", params=params)
    if status != 200:
        return _print_action(status, body, False)
    if isinstance(body, dict):
        body = body.get("events", [])
    rows = body if isinstance(body, list) else []
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for e in rows:
        print(format_event(e))
    return EXIT_OK


# ---- registration -----------------------------------------------------------------------------


def _reason(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--reason", required=True, help=f"why {what} (audited; shown in events, alerts)")


def register(sub: Subparsers) -> None:
    run = sub.add_parser("run", help="run the controller daemon")
    run.add_argument("--config", required=True, help="the YAML config file")
    run.add_argument("--dry-run", action="store_true", help="decide and log, touch nothing")
    run.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    run.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (logs go to stderr)"
    )
    run.set_defaults(func=_run)

    from controller.demo.cli import register_demo

    register_demo(sub)

    p = sub.add_parser(
        "status", help="the route in force and why (over the API); " + STATUS_HELP.split(":")[0]
    )
    p.description = textwrap.fill("The route in force and why; " + STATUS_HELP, 78)
    api_args(p)
    p.set_defaults(func=_status)
    p = sub.add_parser("failover", help="manual override to a route (over the API)")
    api_args(p)
    p.add_argument(
        "--to", required=True, choices=["primary", "secondary", "oncall"], help="the route"
    )
    _reason(p, "(e.g. carrier A maintenance)")
    p.add_argument(
        "--ttl",
        help="how long the override lasts: 90s, 30m, 2h, 1d (default: the config's "
        "failover.override_default_ttl_s)",
    )
    p.add_argument("--force", action="store_true", help="even onto a route that is down")
    p.set_defaults(func=_failover)
    for name, path, doing in (
        ("failback", "/v1/failback", "clear the override; automatic decisions again"),
        ("pause", "/v1/pause", "freeze automatic decisions (maintenance)"),
        ("resume", "/v1/resume", "end a pause"),
    ):
        p = sub.add_parser(name, help=doing + " (over the API)")
        api_args(p)
        _reason(p, f"you {name}")
        if name == "pause":
            p.add_argument(
                "--ttl",
                help="how long the pause lasts: 90s, 30m, 2h, 1d (default: the config's "
                "failover.pause_default_ttl_s)",
            )
        p.set_defaults(func=_simple(path))
    p = sub.add_parser("events", help="the event log (over the API)")
    api_args(p)
    p.add_argument("--since", help="only events after this ISO 8601 time (UTC if no zone)")
    p.add_argument("--limit", type=int, default=50, help="at most this many events")
    p.set_defaults(func=_events)
