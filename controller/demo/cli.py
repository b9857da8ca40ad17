"""``hotline demo``: the lab on loopback with the controller in one process.

hotline demo                  start the lab; open the printed dashboard URL; Ctrl-C stops it
hotline demo --script         play the scripted scenario, print the timeline, exit 0 if every
                              step reached its verified route
(from another terminal; each takes --url, which the banner prints)
hotline demo break trunk-a    make a component stop answering; restore trunk-a brings it back
hotline demo outbox           the SMS the emulated modem sent (to the technicians)
hotline demo mail             the e-mails in the lab's SMTP sink
hotline demo sms-reply "ACK"  answer as the technician on call (--from NAME|NUMBER: another one)
hotline demo call --missed    the PBX reports a missed call: it goes on `hotline callbacks`

The lab's events, incidents and calls are kept after it stops, in a fresh directory whose path
the banner and the last line print (every lab still starts from a clean slate).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from controller.cli.args import Subparsers
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED

if TYPE_CHECKING:
    from controller.config import HotlineConfig
    from controller.demo.lab import Lab

ACTIONS = ("break", "restore", "outbox", "mail", "sms-reply", "call")
NEEDS_ARG = {"break": "COMPONENT", "restore": "COMPONENT", "sms-reply": "TEXT"}


def register_demo(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="the demo lab on loopback (try: hotline demo --script)")
    p.description = __doc__.split("\n\n", 1)[1] if __doc__ else None
    p.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        help="act on a running demo (none: start a lab)",
    )
    p.add_argument(
        "arg",
        nargs="?",
        metavar="ARG",
        help="break/restore: trunk-a, trunk-b, pbx-1, pbx-2 or pbx; sms-reply: the SMS text",
    )
    p.add_argument("--script", action="store_true", help="play the scripted scenario and exit")
    p.add_argument("--config", default=None, help="lab config (default examples/lab.yaml)")
    p.add_argument("--free-ports", action="store_true", help="use free ports, not the config's")
    p.add_argument("--url", help="a running demo's API (default: the lab config's api.listen)")
    p.add_argument(
        "--from",
        dest="sender",
        metavar="NAME|NUMBER",
        help="sms-reply: the technician (or E.164 number) sending (default: whoever is on call)",
    )
    p.add_argument("--missed", action="store_true", help="call: nobody answered (a callback)")
    p.add_argument(
        "--caller",
        default="+420603000123",
        help="call: the caller's number, E.164, or 'withheld'",
    )
    p.add_argument("--log-level", default="WARNING", help="the lab's log level (stderr)")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from controller.config import ConfigError
    from controller.demo.lab import LAB_YAML, lab_config

    if args.action in NEEDS_ARG and not args.arg:
        print(f"usage: hotline demo {args.action} {NEEDS_ARG[args.action]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        cfg = lab_config(
            Path(args.config) if args.config else LAB_YAML,
            free_ports=args.free_ports and not args.action,
        )
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.action:
        from controller.demo.remote import remote

        return remote(cfg, args)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.WARNING),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    return asyncio.run(run_demo(cfg, script=args.script))


async def run_demo(cfg: HotlineConfig, script: bool) -> int:
    from controller.daemon import assemble, serve
    from controller.demo.lab import Lab
    from controller.demo.web import demo_router

    # Every lab starts from a clean slate (the emulated modem does too), whatever an earlier
    # demo left in the config's state_dir; the directory is kept, for a look afterwards.
    state = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    cfg = cfg.model_copy(update={"node": cfg.node.model_copy(update={"state_dir": state})})
    lab = Lab(cfg)
    try:
        await lab.start()
    except OSError as exc:
        await lab.stop()
        print(
            f"cannot start the lab: {exc.strerror or exc} (is another demo running? "
            "try --free-ports)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    stop = asyncio.Event()
    parts = await assemble(cfg)
    task = asyncio.create_task(
        serve(parts, cfg, stop, extend_app=lambda app: app.include_router(demo_router(lab, cfg)))
    )
    try:
        _banner(cfg, lab, script)
        if script:
            return await _play(parts, lab)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return EXIT_OK
    finally:
        stop.set()
        await task
        await lab.stop()
        print(f"the lab's events, incidents and calls are kept in {state}", flush=True)


async def _play(parts: object, lab: Lab) -> int:
    from controller.daemon import Parts
    from controller.demo.scenario import play

    assert isinstance(parts, Parts)
    started = time.monotonic()
    results = await play(parts, lab, lambda line: print(line, flush=True))
    ok = len(results) > 0 and all(r.ok for r in results) and len(results) == 5
    await asyncio.sleep(1.0)  # let the notifier deliver the last alert
    sms = len(lab.emulator.outbox) if lab.emulator is not None else 0
    print(
        f"alerts: {sms} SMS sent through the emulated modem, {len(lab.mail)} "
        "e-mail(s) in the lab's SMTP sink"
    )
    print(f"demo {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    return EXIT_OK if ok else EXIT_REFUSED


def _banner(cfg: HotlineConfig, lab: Lab, script: bool) -> None:
    tokens = {str(t.role): t.token.get_secret_value() for t in cfg.api.tokens}
    url = f"http://{cfg.api.listen}"
    print(f"hotline demo lab: node {cfg.node.name}, modem emulator at {cfg.hotline.modem.url}")
    print(f"  dashboard  {url}/dashboard", flush=True)
    print(f"  state      {cfg.node.state_dir} (kept when the lab stops)")
    if "operator" in tokens:
        # The lab's tokens are published in examples/lab.yaml; printing them here is deliberate.
        print(f"  lab operator token  {tokens['operator']}")
    if script:
        return
    token = tokens.get("operator", "")
    print(
        f"  from another terminal (components: {', '.join(lab.breakable)}); Ctrl-C stops the lab:",
        f"    hotline demo break trunk-a --url {url}",
        f"    hotline demo restore trunk-a --url {url}",
        f"    hotline demo outbox --url {url}          (the SMS sent to technicians)",
        f"    hotline demo mail --url {url}            (the e-mails)",
        f'    hotline demo sms-reply "ACK" --url {url}  (answer as the technician on call)',
        f"    hotline demo call --missed --url {url}   (a missed call → a callback)",
        f"    hotline status --url {url} --token {token}",
        f"    hotline incidents --url {url} --token {token}",
        f"    hotline callbacks --url {url} --token {token}",
        sep="\n",
        flush=True,
    )
