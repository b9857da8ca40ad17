"""``hotline demo``: the lab on loopback with the controller in one process.

hotline demo                  start the lab; open the printed dashboard URL; Ctrl-C stops it
hotline demo --script         play the scripted scenario, print the timeline, exit 0 if every
                              step reached its verified route
hotline demo break trunk-a    (from another terminal) make a component stop answering
hotline demo restore trunk-a
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


def register_demo(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="the demo lab on loopback (try: hotline demo --script)")
    p.add_argument(
        "action",
        nargs="?",
        choices=["break", "restore"],
        help="break/restore a component of a running demo",
    )
    p.add_argument("component", nargs="?", help="trunk-a, trunk-b, pbx-1, pbx-2 or pbx")
    p.add_argument("--script", action="store_true", help="play the scripted scenario and exit")
    p.add_argument("--config", default=None, help="lab config (default examples/lab.yaml)")
    p.add_argument("--free-ports", action="store_true", help="use free ports, not the config's")
    p.add_argument("--url", help="a running demo's API (default: the lab config's)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from controller.config import ConfigError
    from controller.demo.lab import LAB_YAML, lab_config

    if args.action and not args.component:
        print(f"usage: hotline demo {args.action} COMPONENT", file=sys.stderr)
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
        return _remote(cfg, args)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.WARNING),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    return asyncio.run(run_demo(cfg, script=args.script))


def _remote(cfg: HotlineConfig, args: argparse.Namespace) -> int:
    import httpx

    from controller.config import Role

    url = args.url or f"http://{cfg.api.listen}"
    token = next(
        (
            t.token.get_secret_value()
            for t in cfg.api.tokens
            if t.role in (Role.OPERATOR, Role.ADMIN)
        ),
        "",
    )
    try:
        resp = httpx.post(
            f"{url}/v1/demo/{args.action}",
            json={"component": args.component},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(
            f"no demo answers at {url} ({type(exc).__name__}); start one with `hotline demo`",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    message = resp.json().get("message") or resp.json().get("detail") or resp.text
    print(message if resp.status_code == 200 else f"HTTP {resp.status_code}: {message}")
    return {200: EXIT_OK, 422: EXIT_BAD_INPUT}.get(resp.status_code, EXIT_REFUSED)


async def run_demo(cfg: HotlineConfig, script: bool) -> int:
    from controller.daemon import assemble, serve
    from controller.demo.lab import Lab
    from controller.demo.scenario import play
    from controller.demo.web import demo_router

    with tempfile.TemporaryDirectory(prefix="hotline-demo-") as tmp:
        # Every lab starts from a clean slate (the emulated modem does too), whatever an
        # earlier demo left in the config's state_dir.
        cfg = cfg.model_copy(update={"node": cfg.node.model_copy(update={"state_dir": Path(tmp)})})
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
            serve(
                parts, cfg, stop, extend_app=lambda app: app.include_router(demo_router(lab, cfg))
            )
        )
        try:
            _banner(cfg, lab, script)
            if script:
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
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            return EXIT_OK
        finally:
            stop.set()
            await task
            await lab.stop()


def _banner(cfg: HotlineConfig, lab: Lab, script: bool) -> None:
    tokens = {str(t.role): t.token.get_secret_value() for t in cfg.api.tokens}
    print(f"hotline demo lab: node {cfg.node.name}, modem emulator at {cfg.hotline.modem.url}")
    print(f"  dashboard  http://{cfg.api.listen}/dashboard", flush=True)
    if "operator" in tokens:
        # The lab's tokens are published in examples/lab.yaml; printing them here is deliberate.
        print(f"  lab operator token  {tokens['operator']}")
    if not script:
        print(
            f"  break/restore: hotline demo break trunk-a | restore trunk-a "
            f"(components: {', '.join(lab.breakable)}); Ctrl-C stops the lab",
            flush=True,
        )
