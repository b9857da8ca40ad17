"""``hotline run``, ``hotline demo`` and the CLI over the HTTP API (status, failover, failback,
pause, resume, events).

The API commands take ``--url``/``--token`` or ``HOTLINE_URL``/``HOTLINE_TOKEN`` and exit 0 when
the controller reports the action done and verified, 1 when it refused, could not verify in time,
or could not be reached, 2 on bad input (ours or as judged by the API's 422). The token is sent
only in the ``Authorization`` header and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from controller.cli.args import Subparsers
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED

JsonDoc = dict[str, Any]
"""A JSON object of the API's, as httpx decodes it."""
_TTL = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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


class ApiClient:
    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: JsonDoc | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> tuple[int, object]:
        """The HTTP status (0: no answer) and the decoded JSON body."""
        import httpx

        try:
            resp = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            return 0, {"message": f"cannot reach the controller: {type(exc).__name__}: {exc}"}
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:500]}
        return resp.status_code, body


def _client(args: argparse.Namespace) -> ApiClient:
    url = args.url or os.environ.get("HOTLINE_URL") or "http://127.0.0.1:8080"
    token = args.token or os.environ.get("HOTLINE_TOKEN")
    return ApiClient(url, token, args.timeout)


def _exit_for(status: int) -> int:
    if status == 200:
        return EXIT_OK
    if status in (400, 422):
        return EXIT_BAD_INPUT
    return EXIT_REFUSED


def _message(body: object) -> str:
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if key in body:
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(body)


def _print_action(status: int, body: object, as_json: bool) -> int:
    if as_json:
        print(json.dumps(body, indent=2))
    elif status in (200, 202, 409) and isinstance(body, dict) and "accepted" in body:
        word = {200: "done", 202: "accepted, not verified yet", 409: "refused"}[status]
        print(f"{word}: route {body.get('route')}: {body.get('message', '')}")
    else:
        where = f"HTTP {status}" if status else "error"
        print(f"{where}: {_message(body)}", file=sys.stderr)
    return _exit_for(status)


def _status(args: argparse.Namespace) -> int:
    status, body = _client(args).call("GET", "/v1/status")
    if status != 200 or args.json or not isinstance(body, dict):
        return (
            _print_action(status, body, True)
            if status == 200
            else _print_action(status, body, False)
        )
    print(format_status(body))
    return EXIT_OK


def format_status(s: JsonDoc) -> str:
    a = s.get("active") or {}
    flags = ("verified" if a.get("verified") else "NOT verified") + (
        ", last change FAILED" if a.get("failed") else ""
    )
    acting = "may actuate" if s.get("may_actuate") else "may not actuate"
    lines = [
        f"node {s.get('node')} ({acting})  leader {s.get('leader')}  mode {s.get('mode')}  "
        f"epoch {s.get('epoch')}",
        f"route   {a.get('route')} → {a.get('number')} since {a.get('since')} ({flags})",
        f"desired {s.get('desired')}: {s.get('reason')}",
        f"on call {s.get('oncall')}",
    ]
    lines += _cluster_lines(s.get("cluster"))
    if s.get("conditions"):
        lines.append("conditions " + ", ".join(s["conditions"]))
    if s.get("override"):
        o = s["override"]
        lines.append(f"override to {o['to']} by {o['who']} until {o['expires_at']}: {o['reason']}")
    if s.get("pause"):
        lines.append(f"paused by {s['pause']['who']}: {s['pause']['reason']}")
    for c in s.get("components", []):
        lines.append(f"  {c['name']:<16} {c['kind']:<9} {c['status']:<8} {c.get('reason') or ''}")
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
        out.append(f"written by {who} {w.get('node')}{epoch} at {w.get('at')}")
    if isinstance(rb, dict):
        out.append(
            f"modem read back {rb.get('number') or 'no forward'} ({rb.get('route')}) "
            f"at {rb.get('at')} by {rb.get('node')}"
        )
    if c.get("note"):
        out.append(f"note    {c['note']}")
    return out


def _failover(args: argparse.Namespace) -> int:
    body: JsonDoc = {"to": args.to, "reason": args.reason, "force": args.force}
    if args.ttl is not None:
        try:
            body["ttl_s"] = parse_ttl(args.ttl)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_BAD_INPUT
    return _print_action(*_client(args).call("POST", "/v1/failover", json=body), args.json)


def _simple(path: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        body: dict[str, object] = {"reason": args.reason}
        if getattr(args, "ttl", None):
            body["ttl_s"] = parse_ttl(args.ttl)
        return _print_action(*_client(args).call("POST", path, json=body), args.json)

    return run


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
        move = ""
        if e.get("route_from") or e.get("route_to"):
            move = f" {e.get('route_from')}→{e.get('route_to')}"
        extra = "".join(f" {k}={e[k]}" for k in ("outcome", "who") if e.get(k) is not None)
        dur = f" {e['duration_ms']:.0f}ms" if e.get("duration_ms") is not None else ""
        ident = f"{e['node']}#{e['id']}" if e.get("node") else f"#{e['id']}"
        print(f"{e['at']} {ident} {e['kind']}{move}{extra}{dur}: {e.get('reason', '')}")
    return EXIT_OK


# ---- registration -----------------------------------------------------------------------------


def _api_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="controller API base URL (env HOTLINE_URL)")
    p.add_argument("--token", help="API bearer token (env HOTLINE_TOKEN)")
    p.add_argument("--timeout", type=float, default=150.0, help="seconds to wait for an answer")
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")


def register(sub: Subparsers) -> None:
    run = sub.add_parser("run", help="run the controller daemon")
    run.add_argument("--config", required=True, help="the YAML config file")
    run.add_argument("--dry-run", action="store_true", help="decide and log, touch nothing")
    run.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)

    from controller.demo.cli import register_demo

    register_demo(sub)

    p = sub.add_parser("status", help="the route in force and why (over the API)")
    _api_args(p)
    p.set_defaults(func=_status)
    p = sub.add_parser("failover", help="manual override to a route (over the API)")
    _api_args(p)
    p.add_argument("--to", required=True, choices=["primary", "secondary", "oncall"])
    p.add_argument("--reason", required=True)
    p.add_argument("--ttl", help="how long the override lasts (90s, 30m, 2h, 1d)")
    p.add_argument("--force", action="store_true", help="even onto a route that is down")
    p.set_defaults(func=_failover)
    for name, path, text in (
        ("failback", "/v1/failback", "clear the override; automatic decisions again"),
        ("pause", "/v1/pause", "freeze automatic decisions (maintenance)"),
        ("resume", "/v1/resume", "end a pause"),
    ):
        p = sub.add_parser(name, help=text + " (over the API)")
        _api_args(p)
        p.add_argument("--reason", default=f"{name} from the CLI")
        if name == "pause":
            p.add_argument("--ttl", help="how long the pause lasts (default from the config)")
        p.set_defaults(func=_simple(path))
    p = sub.add_parser("events", help="the event log (over the API)")
    _api_args(p)
    p.add_argument("--since", help="ISO time (UTC)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_events)
