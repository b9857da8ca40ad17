"""``hotline demo ACTION``: act on a running demo lab from another terminal, over its API.

break/restore a component, read the SMS outbox and the mailbox, send an SMS to the hotline's SIM
as a technician (the notifier reads ``ACK``/``STATUS`` from it), and report a call as the PBX
would (``POST /v1/calls`` with the lab's pbx token), missed or answered. The lab's tokens are
published in examples/lab.yaml; this takes them from the lab config.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import timedelta
from typing import Any

from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from controller.config import HotlineConfig, Role


def _token(cfg: HotlineConfig, *roles: Role) -> str:
    return next((t.token.get_secret_value() for t in cfg.api.tokens if t.role in roles), "")


def _request(url: str, method: str, path: str, token: str, body: object) -> tuple[int, Any]:
    import httpx

    try:
        resp = httpx.request(
            method,
            f"{url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(
            f"no demo answers at {url} ({type(exc).__name__}); start one with `hotline demo` "
            "(with --free-ports, pass the --url its banner prints)",
            file=sys.stderr,
        )
        return 0, None
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, {"detail": resp.text[:200]}


def _failed(status: int, body: Any) -> int:
    if status == 0:
        return EXIT_REFUSED
    from controller.cli.messages import describe

    print(f"HTTP {status}: {describe(status, body)}", file=sys.stderr)
    return EXIT_BAD_INPUT if status == 422 else EXIT_REFUSED


def remote(cfg: HotlineConfig, args: argparse.Namespace) -> int:
    url = (args.url or f"http://{cfg.api.listen}").rstrip("/")
    operator = _token(cfg, Role.OPERATOR, Role.ADMIN)
    if args.action in ("break", "restore"):
        status, body = _request(
            url, "POST", f"/v1/demo/{args.action}", operator, {"component": args.arg}
        )
        if status != 200:
            return _failed(status, body)
        print(body.get("message", "done"))
        return EXIT_OK
    if args.action == "outbox":
        return _outbox(url, operator)
    if args.action == "mail":
        return _mail(url, operator)
    if args.action == "sms-reply":
        payload: dict[str, object] = {"text": args.arg}
        if args.sender:
            payload["from"] = args.sender
        status, body = _request(url, "POST", "/v1/demo/sms", operator, payload)
        if status != 200:
            return _failed(status, body)
        print(f"{body.get('message')}; the reply shows in `hotline demo outbox --url {url}`")
        return EXIT_OK
    return _call(cfg, url, args)


def _outbox(url: str, token: str) -> int:
    status, body = _request(url, "GET", "/v1/demo/outbox", token, None)
    if status != 200:
        return _failed(status, body)
    rows = body.get("sms", [])
    if not rows:
        print("no SMS sent yet")
    for i, m in enumerate(rows, start=1):
        parts = f", {m['parts']} parts" if m.get("parts", 1) > 1 else ""
        print(f"#{i} to {m.get('to')}{parts}:\n    {m.get('text', '')}")
    return EXIT_OK


def _mail(url: str, token: str) -> int:
    status, body = _request(url, "GET", "/v1/demo/mail", token, None)
    if status != 200:
        return _failed(status, body)
    rows = body.get("mail", [])
    if not rows:
        print("no e-mail yet")
    for i, m in enumerate(rows, start=1):
        print(f"#{i} {m.get('date', '')}  to {m.get('to', '')}\n    Subject: {m.get('subject')}")
        for line in str(m.get("text", "")).splitlines():
            print(f"    {line}")
    return EXIT_OK


def _call(cfg: HotlineConfig, url: str, args: argparse.Namespace) -> int:
    from controller.clock import utcnow

    pbx = _token(cfg, Role.PBX)
    if not pbx:
        print("the lab config has no pbx token (api.tokens, role pbx)", file=sys.stderr)
        return EXIT_BAD_INPUT
    end = utcnow().replace(microsecond=0)
    start = end - timedelta(seconds=40)
    event: dict[str, object] = {
        "call_id": f"demo-{end.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}",
        "caller": None if args.caller == "withheld" else args.caller,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "line": "primary",
    }
    if not args.missed:
        event["answer"] = (start + timedelta(seconds=8)).isoformat()
        event["agent"] = "demo-agent"
    status, body = _request(url, "POST", "/v1/calls", pbx, event)
    if status not in (200, 201):
        return _failed(status, body)
    if body.get("missed"):
        print(f"missed call recorded: callback #{body.get('callback_id')} (`hotline callbacks`)")
    else:
        print(f"answered call recorded ({body.get('status')})")
    return EXIT_OK
