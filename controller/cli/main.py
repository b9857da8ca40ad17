"""The ``hotline`` command. Exit codes: 0 done, 1 refused by the world, 2 bad input.

Each package adds its own subcommands: a module listed in ``SUBCOMMAND_MODULES`` exposes
``register(subparsers)`` and sets ``func`` (taking the parsed args, returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from controller.cli.exits import EXIT_BAD_INPUT, EXIT_OK
from controller.config import ConfigError, HotlineConfig, load_config

SUBCOMMAND_MODULES = (
    "controller.cli.modem",
    "controller.cli.probe",
    "controller.cli.ops",
    "controller.cli.cluster",
)


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
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(_summary(cfg, args.file))
    return EXIT_OK


def _config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(HotlineConfig.model_json_schema(), indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline", description="High-availability failover controller for a GSM hotline."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config = sub.add_parser("config", help="check a config file or print its JSON Schema")
    csub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = csub.add_parser("check", help="validate FILE and print a summary")
    check.add_argument("file")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
