"""``hotline modem ...`` (talk to a modem) and ``hotline modem-sim ...`` (run the emulator).

Exit codes: 0 done (and verified, for forwarding changes), 1 the modem or the network refused
(the message says why), 2 bad input — in that case nothing was sent to the modem, because numbers
and texts are validated before the port is opened.

The SIM PIN is never taken on the command line (it would show in ``ps``): it comes from the
environment variable named by ``--pin-env`` (default ``HOTLINE_SIM_PIN``) or from ``--config``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from typing import TYPE_CHECKING, TypedDict

from controller.cli.args import Subparsers
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from modem.commands import BadArgument
from modem.e164 import InvalidNumber, validate_e164
from modem.errors import ModemError
from modem.model import ForwardingState, ForwardReason

if TYPE_CHECKING:
    from modem.driver import Modem
    from modem.emulator import ModemEmulator

REASONS = tuple(str(r) for r in ForwardReason)


class _OpenOptions(TypedDict):
    """How to open the modem (``Modem.open``'s keywords besides the URL)."""

    baudrate: int
    command_timeout: float
    network_timeout: float
    pin: str | None
    retry_delays: tuple[float, ...]


def register(sub: Subparsers) -> None:
    _register_modem(sub)
    _register_sim(sub)


def _register_modem(sub: Subparsers) -> None:
    p = sub.add_parser("modem", help="query or change the GSM modem (forwarding, SMS, info)")
    p.add_argument("--port", help="serial URL: /dev/ttyUSB2, rfc2217://h:p, socket://h:p")
    p.add_argument("--config", help="take the modem URL, PIN and timeouts from this config file")
    p.add_argument("--baudrate", type=int, default=115200, help="serial line speed, bit/s")
    p.add_argument("--pin-env", default="HOTLINE_SIM_PIN", help="env variable holding the PIN")
    p.add_argument("--timeout", type=float, default=10.0, help="command timeout, seconds")
    p.add_argument("--network-timeout", type=float, default=60.0, help="+CCFC/+CMGS timeout")
    p.add_argument(
        "--retry-delays",
        default="1,3,9",
        help="seconds between retries of transient network errors (comma list; '' for none)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every step to stderr")
    msub = p.add_subparsers(dest="modem_command", required=True, metavar="ACTION")
    info = msub.add_parser("info", help="manufacturer, model, IMEI, SIM, registration, signal")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_sync(_info))
    fwd = msub.add_parser("forward", help="call forwarding (AT+CCFC), verified by read-back")
    fsub = fwd.add_subparsers(dest="forward_command", required=True, metavar="OP")
    get = fsub.add_parser("get")
    set_ = fsub.add_parser("set")
    set_.add_argument("number", help="E.164 number, e.g. +420212000001")
    clear = fsub.add_parser("clear")
    for q in (get, set_, clear):
        q.add_argument(
            "--reason", choices=REASONS, default="unconditional", help="which forwarding"
        )
        q.add_argument("--json", action="store_true", help="print JSON")
    get.set_defaults(func=_sync(_forward_get))
    set_.set_defaults(func=_sync(_forward_set))
    clear.set_defaults(func=_sync(_forward_clear))
    sms = msub.add_parser("sms", help="send an SMS (PDU mode, UCS-2 and long texts supported)")
    ssub = sms.add_subparsers(dest="sms_command", required=True, metavar="OP")
    send = ssub.add_parser("send")
    send.add_argument("number", help="the recipient, E.164, e.g. +420777000001")
    send.add_argument("text", help="the message (long texts go as concatenated parts)")
    send.set_defaults(func=_sync(_sms_send))


def _sync(
    fn: Callable[[argparse.Namespace], Coroutine[object, object, int]],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        logging.basicConfig(
            level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
            stream=sys.stderr,
        )
        try:
            return asyncio.run(fn(args))
        except (InvalidNumber, BadArgument, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except ModemError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return EXIT_REFUSED

    return run


def _open_kwargs(args: argparse.Namespace) -> tuple[str, _OpenOptions]:
    """Where and how to open the modem; raises ValueError (exit 2) when nothing says where."""
    kw: _OpenOptions = {
        "baudrate": args.baudrate,
        "command_timeout": args.timeout,
        "network_timeout": args.network_timeout,
        "pin": os.environ.get(args.pin_env) or None,
        "retry_delays": tuple(float(d) for d in args.retry_delays.split(",") if d.strip()),
    }
    url = args.port
    if args.config:
        from controller.config import ConfigError, load_config

        try:
            cfg = load_config(args.config).hotline.modem
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        url = url or cfg.url
        kw["baudrate"] = cfg.baudrate
        kw["command_timeout"] = cfg.command_timeout_s
        kw["network_timeout"] = cfg.network_timeout_s
        if cfg.pin is not None and kw["pin"] is None:
            kw["pin"] = cfg.pin.get_secret_value()
    if not url:
        raise ValueError("give --port URL or --config FILE")
    return url, kw


async def _with_modem(args: argparse.Namespace, action: Callable[[Modem], Awaitable[int]]) -> int:
    from modem.driver import Modem

    url, kw = _open_kwargs(args)
    modem = await Modem.open(url, **kw)
    try:
        return await action(modem)
    except ValueError as exc:  # an unreadable answer: the modem's fault, not the user's input
        raise ModemError(f"unreadable answer from the modem: {exc}") from exc
    finally:
        await modem.close()


async def _info(args: argparse.Namespace) -> int:
    async def action(modem: Modem) -> int:
        info, status = await modem.info(), await modem.status()
        if args.json:
            print(json.dumps({"info": asdict(info), "status": asdict(status)}))
        else:
            print(f"{info.manufacturer} {info.model} (rev {info.revision}), IMEI {info.imei}")
            print(f"SIM {status.sim_state}; network {status.registration}", end="")
            print(f", operator {status.operator}, signal {status.signal_dbm} dBm")
        return EXIT_OK

    return await _with_modem(args, action)


def _print_state(state: ForwardingState, as_json: bool, verb: str = "") -> None:
    if as_json:
        payload = {"reason": str(state.reason), "active": state.active, "number": state.number}
        print(json.dumps(payload))
    elif state.active:
        print(f"{verb}forwarding {state.reason} → {state.number}")
    else:
        print(f"{verb}forwarding {state.reason}: not active")


async def _forward_get(args: argparse.Namespace) -> int:
    async def action(modem: Modem) -> int:
        _print_state(await modem.get_forwarding(args.reason), args.json)
        return EXIT_OK

    return await _with_modem(args, action)


async def _forward_set(args: argparse.Namespace) -> int:
    number = validate_e164(args.number)  # before the port is even opened

    async def action(modem: Modem) -> int:
        _print_state(await modem.set_forwarding(number, args.reason), args.json, "verified: ")
        return EXIT_OK

    return await _with_modem(args, action)


async def _forward_clear(args: argparse.Namespace) -> int:
    async def action(modem: Modem) -> int:
        _print_state(await modem.clear_forwarding(args.reason), args.json, "verified: ")
        return EXIT_OK

    return await _with_modem(args, action)


async def _sms_send(args: argparse.Namespace) -> int:
    from modem.pdu import encode_submit

    number = validate_e164(args.number)
    encode_submit(number, args.text, 0)  # refuses empty/unencodable text before opening the port

    async def action(modem: Modem) -> int:
        refs = await modem.send_sms(number, args.text)
        print(f"sent to {number} in {len(refs)} part(s), references {refs}")
        return EXIT_OK

    return await _with_modem(args, action)


# --- modem-sim ---------------------------------------------------------------------------------
def _register_sim(sub: Subparsers) -> None:
    from modem.emulator.profiles import PROFILES, profile_help

    p = sub.add_parser("modem-sim", help="run the emulated GSM modem (TCP and/or pty)")
    p.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="standard",
        help="which real modem's AT dialect to speak: " + profile_help(),
    )
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT for socket:// clients")
    p.add_argument("--pty", help="also offer the modem on a pty, symlinked at PATH")
    p.add_argument("--state-file", help="keep the network state (forwarding, outbox) here as JSON")
    p.add_argument("--control", help="HOST:PORT of the line-based JSON control port")
    p.add_argument("--transcript", help="append every byte in and out to this file")
    p.add_argument(
        "--pin-env", default="", help="env variable with the SIM PIN (SIM starts locked)"
    )
    p.add_argument(
        "--forward",
        action="append",
        default=[],
        metavar="REASON=NUMBER",
        help="start with this forwarding set (repeatable; default: none)",
    )
    f = p.add_argument_group("faults")
    f.add_argument(
        "--latency",
        type=float,
        default=None,
        help="network operation delay, s (default 0.05; with --profile, the profile's own)",
    )
    f.add_argument(
        "--latency-for", action="append", default=[], metavar="CMD=S", help="e.g. +CCFC=2.5"
    )
    f.add_argument("--no-network", action="store_true", help="not registered on a network")
    f.add_argument("--echo", action="store_true", help="echo stays on even after ATE0")
    f.add_argument("--garbage", default="", help="text written before every final result")
    f.add_argument("--mid-response-urc", help="URC written inside every response, e.g. RING")
    f.add_argument(
        "--error",
        action="append",
        default=[],
        metavar="CMD:ATTEMPT:CODE",
        help="answer CMD's ATTEMPT-th try with +CME ERROR CODE (repeatable)",
    )
    f.add_argument("--drop-on", help="drop the connection when this command arrives (+CCFC)")
    f.add_argument("--ccfc-unsupported", action="store_true", help="+CCFC → CME 4 (use MMI)")
    f.add_argument("--ccfc-ignored", action="store_true", help="+CCFC set says OK, changes nothing")
    f.add_argument("--pdu-unsupported", action="store_true", help="text-mode SMS only")
    p.set_defaults(func=_run_sim)


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def _build_emulator(args: argparse.Namespace) -> ModemEmulator:
    from modem.emulator import ErrorFault, Faults, ModemEmulator
    from modem.emulator.network import REASON_NAMES

    errors = []
    for spec in args.error:
        cmd, attempt, code = spec.rsplit(":", 2)
        errors.append(ErrorFault(cmd, int(attempt), int(code), "cms" if cmd == "+CMGS" else "cme"))
    per_command = {}
    for item in args.latency_for:
        name, _, seconds = item.rpartition("=")
        per_command[name] = float(seconds)
    from modem.emulator.profiles import PROFILES

    profile = PROFILES[args.profile]
    latency = args.latency
    if latency is None:
        latency = profile.latency_s if args.profile != "standard" else 0.05
    faults = Faults(
        latency=latency,
        latency_per_command=per_command,
        no_network=args.no_network,
        sticky_echo=args.echo,
        garbage=args.garbage,
        mid_response_urc=args.mid_response_urc,
        errors=errors,
        drop_on=args.drop_on,
        ccfc_unsupported=args.ccfc_unsupported,
        ccfc_ignored=args.ccfc_ignored,
        pdu_unsupported=args.pdu_unsupported,
    )
    pin = os.environ.get(args.pin_env) if args.pin_env else None
    emu = ModemEmulator(
        pin=pin or None,
        faults=faults,
        state_file=args.state_file,
        transcript_file=args.transcript,
        profile=profile,
    )
    codes = {name: code for code, name in REASON_NAMES.items()}
    for item in args.forward:
        reason, _, number = item.partition("=")
        emu.network.apply_ccfc(codes[reason], 3, validate_e164(number), 145, 1, None)
    return emu


def _run_sim(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        host, port = _host_port(args.listen)
        control = _host_port(args.control) if args.control else None
        emu = _build_emulator(args)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return asyncio.run(_serve(emu, host, port, control, args.pty))


async def _serve(
    emu: ModemEmulator, host: str, port: int, control: tuple[str, int] | None, pty: str | None
) -> int:
    from modem.emulator.control import start_control

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = await emu.start_tcp(host, port)
    print(f"modem-sim listening on socket://{host}:{bound}", flush=True)
    if pty:
        print(f"modem-sim pty {await emu.start_pty(pty)} at {pty}", flush=True)
    server = None
    if control:
        server = await start_control(emu, *control)
        cport = server.sockets[0].getsockname()[1]
        print(f"modem-sim control on {control[0]}:{cport}", flush=True)
    await stop.wait()
    if server is not None:
        server.close()
    with contextlib.suppress(Exception):
        await emu.stop()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m controller.cli.modem ...``: these commands without the rest of ``hotline``."""
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
