"""``hotline probe``: probe one SIP or SNMP target by hand, or run every configured probe.

    hotline probe sip sip:HOST[:PORT][;transport=udp|tcp|tls] [--timeout S] [--count N] [--json]
    hotline probe snmp HOST[:PORT] OID [--community C | v3 options] [--json]
    hotline probe run --config FILE [--once]

Exit 0 when the target is alive, 1 when it is not (with the reason), 2 on bad input. Like ping,
``--count N`` is alive when any of the N probes was. SNMP secrets may come from the environment
(``HOTLINE_SNMP_COMMUNITY``, ``HOTLINE_SNMP_AUTH_KEY``, ``HOTLINE_SNMP_PRIV_KEY``) so they stay out
of ``ps``; they are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from pydantic import ValidationError

from controller.cli.args import Subparsers
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from health.sample import ProbeResult
from health.specs import SipProbeSpec, SnmpProbeSpec

_MAX_COUNT = 10_000


def register(subparsers: Subparsers) -> None:
    probe = subparsers.add_parser("probe", help="probe a SIP/SNMP target, or all configured probes")
    psub = probe.add_subparsers(dest="probe_command", required=True, metavar="KIND")

    sip = psub.add_parser("sip", help="SIP OPTIONS keep-alive")
    sip.add_argument("uri", help="sip:HOST[:PORT][;transport=udp|tcp|tls]")
    sip.add_argument("--timeout", type=float, default=2.0, help="seconds per probe (default 2)")
    sip.add_argument("--count", type=int, default=1, help="probes to send, 1 s apart")
    sip.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    sip.add_argument("--alive-codes", default="200", help="comma list, e.g. 200,404,405,501")
    sip.add_argument("--no-verify", action="store_true", help="TLS: skip certificate checks")
    sip.add_argument("--json", action="store_true", help="print JSON")
    sip.set_defaults(func=_sip)

    snmp = psub.add_parser("snmp", help="SNMP GET of one OID")
    snmp.add_argument("target", help="HOST[:PORT]")
    snmp.add_argument("oid", help="numeric OID, e.g. 1.3.6.1.2.1.1.3.0")
    snmp.add_argument("--community", help="v2c community (or $HOTLINE_SNMP_COMMUNITY)")
    snmp.add_argument("--v3-user", help="use SNMPv3 USM with this user")
    snmp.add_argument(
        "--auth-protocol",
        default="SHA",
        choices=["MD5", "SHA", "SHA256", "SHA512"],
        help="SNMPv3 authentication",
    )
    snmp.add_argument("--auth-key", help="(or $HOTLINE_SNMP_AUTH_KEY)")
    snmp.add_argument(
        "--priv-protocol",
        default="AES",
        choices=["DES", "AES", "AES192", "AES256"],
        help="SNMPv3 privacy (encryption)",
    )
    snmp.add_argument("--priv-key", help="(or $HOTLINE_SNMP_PRIV_KEY); none: authNoPriv")
    snmp.add_argument(
        "--expect",
        default="exists",
        choices=["exists", "equals", "at_least", "at_most"],
        help="what makes the target alive",
    )
    snmp.add_argument("--value", help="for --expect equals/at_least/at_most")
    snmp.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    snmp.add_argument("--json", action="store_true", help="print JSON")
    snmp.set_defaults(func=_snmp)

    run = psub.add_parser("run", help="run every configured probe, live table of states")
    run.add_argument("--config", required=True, help="the hotline YAML config")
    run.add_argument("--once", action="store_true", help="probe until each has a verdict, exit")
    run.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    run.add_argument("--json", action="store_true", help="with --once: print states as JSON")
    run.set_defaults(func=_run)


def _bad(message: str) -> int:
    print(f"hotline probe: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _print_result(target: str, result: ProbeResult, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "target": target,
                    "alive": result.ok,
                    "reason": result.reason,
                    "latency_ms": result.latency_ms,
                }
            )
        )
    else:
        latency = f" {result.latency_ms:.1f} ms" if result.latency_ms is not None else ""
        print(f"{target}: {'alive' if result.ok else 'DEAD'} ({result.reason}){latency}")


def _sip(args: argparse.Namespace) -> int:
    try:
        codes = tuple(int(c) for c in args.alive_codes.split(",") if c.strip())
        spec = SipProbeSpec(
            type="sip", uri=args.uri, alive_codes=codes, tls_verify=not args.no_verify
        )
    except (ValueError, ValidationError) as exc:
        return _bad(_first_error(exc))
    if not 0 < args.timeout <= 60 or not 1 <= args.count <= _MAX_COUNT or args.interval < 0:
        return _bad("--timeout must be in (0, 60], --count in [1, 10000]")
    return asyncio.run(_sip_async(spec, args))


async def _sip_async(spec: SipProbeSpec, args: argparse.Namespace) -> int:
    from health.probes import ProbeContext, build_probe

    ctx = ProbeContext()
    alive = 0
    try:
        probe = build_probe(spec, ctx)
        for i in range(args.count):
            if i:
                await asyncio.sleep(args.interval)
            result = await probe.run(args.timeout)
            alive += result.ok
            _print_result(spec.uri, result, args.json)
    finally:
        await ctx.close()
    return EXIT_OK if alive else EXIT_REFUSED


def _snmp_spec(args: argparse.Namespace) -> SnmpProbeSpec:
    host, _, port = (
        args.target.rpartition(":") if args.target.count(":") == 1 else (args.target, "", "")
    )
    check: dict[str, str | int] = {"oid": args.oid, "expect": args.expect}
    if args.value is not None:
        check["value"] = int(args.value) if args.expect in ("at_least", "at_most") else args.value
    data: dict[str, object] = {"type": "snmp", "host": host.strip("[]"), "checks": [check]}
    if port:
        data["port"] = int(port)
    if args.v3_user:
        auth = args.auth_key or os.environ.get("HOTLINE_SNMP_AUTH_KEY")
        if not auth:
            raise ValueError("--v3-user needs --auth-key or $HOTLINE_SNMP_AUTH_KEY")
        priv = args.priv_key or os.environ.get("HOTLINE_SNMP_PRIV_KEY")
        data["version"] = "3"
        data["v3"] = {
            "user": args.v3_user,
            "auth_protocol": args.auth_protocol,
            "auth_key": auth,
            "priv_protocol": args.priv_protocol if priv else None,
            "priv_key": priv,
        }
    else:
        data["community"] = args.community or os.environ.get("HOTLINE_SNMP_COMMUNITY", "public")
    return SnmpProbeSpec.model_validate(data)


def _snmp(args: argparse.Namespace) -> int:
    try:
        spec = _snmp_spec(args)
    except (ValueError, ValidationError) as exc:
        return _bad(_first_error(exc))
    if not 0 < args.timeout <= 60:
        return _bad("--timeout must be in (0, 60]")
    return asyncio.run(_snmp_async(spec, args))


async def _snmp_async(spec: SnmpProbeSpec, args: argparse.Namespace) -> int:
    from health.probes import ProbeContext, build_probe

    ctx = ProbeContext()
    try:
        result = await build_probe(spec, ctx).run(args.timeout)
    finally:
        await ctx.close()
    _print_result(f"{args.target} {args.oid}", result, args.json)
    return EXIT_OK if result.ok else EXIT_REFUSED


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"
    return str(exc)


def _run(args: argparse.Namespace) -> int:
    from controller.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.duration is not None and args.duration <= 0:
        return _bad("--duration must be positive")
    from controller.cli.probe_run import run_configured

    return asyncio.run(
        run_configured(cfg, once=args.once, duration=args.duration, as_json=args.json)
    )
