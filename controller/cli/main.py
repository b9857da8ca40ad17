"""The ``hotline`` command. Exit codes: 0 done, 1 refused by the world, 2 bad input (``hotline
status``: the check-command convention, see ``controller.cli.exits``).

Each package adds its own subcommands: a module listed in ``SUBCOMMAND_MODULES`` exposes
``register(subparsers)`` and sets ``func`` (taking the parsed args, returning the exit code).
Every parser is a ``HotlineParser``: each option's help shows its default. ``main`` never ends in
a traceback: a closed pipe (``hotline status | head -1``) ends quietly with 141, as a shell
reports SIGPIPE; an unexpected error prints one line naming its type and exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from controller.cli.client import BadSetting
from controller.cli.exits import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_OK, EXIT_REFUSED

if TYPE_CHECKING:
    from controller.config import HotlineConfig

SUBCOMMAND_MODULES = (
    "controller.cli.modem",
    "controller.cli.probe",
    "controller.cli.ops",
    "controller.cli.cluster",
    "controller.cli.alerts",
    "controller.cli.leader",
)


class DefaultsFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends ``(default: X)`` to an option's help when it has a meaningful default (not None,
    not a flag's False, not already spelled out in the help). Descriptions keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default == []
            or default == ""
            or default is argparse.SUPPRESS
            or "%(default)" in help_text
            or "default" in help_text
            or not (action.option_strings or action.nargs in ("?", "*"))
        ):
            return help_text
        return f"{help_text} (default: %(default)s)"


class HotlineParser(argparse.ArgumentParser):
    """Every parser of the ``hotline`` command (subparsers inherit the class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)


def _summary(cfg: HotlineConfig, source: str) -> str:
    from controller.decide.schedule import Calendar
    from health.monitor import detection_bound_s

    lines = [f"{source}: OK", f"  node          {cfg.node.name}"]
    lines.append(f"  hotline       {cfg.hotline.number} via modem {cfg.hotline.modem.url}")
    for name in ("primary", "secondary"):
        line = getattr(cfg.lines, name)
        lines.append(f"  {name:<13} → {line.forward_to}  needs {', '.join(line.depends_on)}")
    c = cfg.pbx_cluster
    lines.append(f"  {c.name:<13} {c.quorum} of {len(c.nodes)} nodes: {', '.join(c.nodes)}")
    lines.append(f"  components    {len(cfg.components)}:")
    for name, comp in cfg.components.items():
        kinds = "+".join(p.type for p in comp.probes)
        lines.append(
            f"    {name:<18} {comp.kind:<9} {kinds:<10} every {comp.interval_s:g}s, "
            f"timeout {comp.timeout_s:g}s, rise {comp.rise}/fall {comp.fall}, "
            f"down within {detection_bound_s(comp):.3g}s"
        )
    techs = ", ".join(t.name for t in cfg.oncall.technicians)
    rot = "rotation" if cfg.oncall.rotation else "first listed"
    lines.append(f"  on call       {techs} ({rot}, {cfg.oncall.timezone})")
    s = cfg.schedule
    always = Calendar.from_config(s).spans == Calendar.always_open().spans and not s.holidays
    hours = "24/7" if always else f"{len(s.business_hours)} days, {len(s.holidays)} holidays"
    lines.append(f"  schedule      {hours}, off-hours → {s.off_hours_route} ({s.timezone})")
    f = cfg.failover
    lines.append(
        f"  failover      failback hold {f.failback_hold_s:g}s, flap guard "
        f"{f.flap_max_switches} switches / {f.flap_window_s:g}s, override TTL "
        f"{f.override_default_ttl_s:g}s"
    )
    coord = cfg.coordination
    where = ""
    if coord.zookeeper is not None:
        where = f" {','.join(coord.zookeeper.hosts)}{coord.zookeeper.path}"
    lines.append(f"  coordination  {coord.backend}{where}")
    acts = ", ".join(a.label + (" (dry-run)" if a.dry_run else "") for a in cfg.actuators)
    r = cfg.reconcile
    dry = ", DRY RUN" if r.dry_run else ""
    lines.append(
        f"  actuators     {acts or 'none'}; loop every {r.interval_s:g}s, drift check "
        f"every {r.drift_check_s:g}s{dry}"
    )
    roles = ", ".join(f"{t.name} ({t.role})" for t in cfg.api.tokens) or "none"
    lines.append(f"  api           {cfg.api.listen}, tokens: {roles}")
    from controller.notifier.worstcase import report  # the alert texts' worst-case length

    lines += report(cfg)
    return "\n".join(lines)


def _config_check(args: argparse.Namespace) -> int:
    from controller.config import ConfigError, load_config  # only here: a CLI call stays quick

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(_summary(cfg, args.file))
    return EXIT_OK


def _config_schema(args: argparse.Namespace) -> int:
    from controller.config import HotlineConfig

    print(json.dumps(HotlineConfig.model_json_schema(), indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = HotlineParser(
        prog="hotline",
        description="High-availability failover controller for a GSM hotline.",
        epilog=(
            "Commands over the API take --url (env HOTLINE_URL, default http://127.0.0.1:8080),\n"
            "--token or --token-file (HOTLINE_TOKEN, HOTLINE_TOKEN_FILE), --ca (HOTLINE_CA).\n"
            "Exit codes: 0 done, 1 refused by the world, 2 bad input; `hotline status` uses the\n"
            "check-command convention instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=HotlineParser
    )
    config = sub.add_parser("config", help="check a config file or print its JSON Schema")
    csub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = csub.add_parser("check", help="validate FILE and print a summary")
    check.add_argument("file", help="the YAML config file")
    check.set_defaults(func=_config_check)
    schema = csub.add_parser("schema", help="print the config's JSON Schema")
    schema.set_defaults(func=_config_schema)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hotline-failover")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _quiet_stdout() -> None:
    """The reader went away: later writes (and the interpreter's final flush) go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


DAEMONS = frozenset({"run", "demo", "modem-sim"})
"""Long-running commands: an unexpected error is also logged with its traceback (the journal)."""


def main(argv: Sequence[str] | None = None) -> int:
    command = None
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
            sys.stdout.flush()
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        command = args.command
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except BadSetting as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a person reads this: one line, no traceback
        if os.environ.get("HOTLINE_DEBUG"):
            raise
        what = type(exc).__name__
        if command in DAEMONS:  # for whoever debugs the daemon: a log record with the stack
            import logging

            logging.getLogger("hotline.cli").error("crashed error=%s", what, exc_info=True)
        print(f"hotline: unexpected error ({what}); please report it", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
