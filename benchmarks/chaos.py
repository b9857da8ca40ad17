"""The chaos lab's long run (issue #18): real calls under a seeded fault schedule, per seed.

    python3 benchmarks/chaos.py [--minutes 30] [--seeds 1 2 3] [--out build/chaos]
        [--latency 0.5] [--interval 2] [--kinds trunk_down leader_sigkill ...] [--keep] [--parallel]

For each seed, lab.runner.ChaosLab starts on loopback a 3-server ZooKeeper ensemble, two Kamailio
trunks behind impairment relays, two sipp PBX nodes, the emulator behind real ser2net (``--latency``
seconds per +CCFC / +CMGS), an aiosmtpd sink, a local Twilio and three ``hotline run`` nodes;
places a call every ``--interval`` seconds while it plays ``--minutes`` of the seeded schedule,
then judges the run with lab.oracle (which reads the emulator's and ZooKeeper's records, not the
controller's). Writes ``chaos.json`` (the judged runs), ``chaos.md`` (the Markdown table the
README shows) and ``raw-<seed>.json`` (everything recorded) to ``--out``; prints the table.
Exit status 1 when any run has a safety violation or an unreached call outside a detection
window. Nothing here is timed against a goal by the test suite (tests/lab runs a short seed).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import oracle, report  # noqa: E402
from lab.runner import ChaosLab, LabSettings, missing_tools, raw_json  # noqa: E402
from lab.schedule import KINDS  # noqa: E402


def _in_parallel(args: argparse.Namespace, given: list[str]) -> list[dict[str, Any]]:
    """One child per seed (this script with that seed alone), then their verdicts together."""
    rest, skip = [], False
    for a in given:  # the arguments minus --seeds/--out/--parallel, which differ per child
        if a in ("--seeds", "--out"):
            skip = True
            continue
        if a.startswith("--"):
            skip = False
        if not skip and a != "--parallel":
            rest.append(a)
    children = []
    for seed in args.seeds:
        out = args.out / f"seed-{seed}"
        cmd = [sys.executable, __file__, *rest, "--seeds", str(seed), "--out", str(out)]
        log = (args.out / f"seed-{seed}.log").open("w")
        children.append((seed, out, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
    bound = args.minutes * 60 * 2 + 900  # far past any run's schedule plus start-up
    results = []
    for seed, out, child in children:
        child.wait(timeout=bound)
        runs = json.loads((out / "chaos.json").read_text())["runs"]
        results.extend(runs)
        print(f"seed {seed}: exit {child.returncode}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="schedule length per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--out", type=Path, default=ROOT / "build" / "chaos")
    p.add_argument("--latency", type=float, default=0.5, help="s per network operation")
    p.add_argument("--interval", type=float, default=2.0, help="s between calls")
    p.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=None)
    p.add_argument("--keep", action="store_true", help="keep each run's logs in --out/run-SEED")
    p.add_argument(
        "--parallel",
        action="store_true",
        help="run the seeds at once, one process each (each lab has its own ports); the table "
        "then measures the controller on a machine shared by three labs",
    )
    args = p.parse_args(argv)
    if missing := missing_tools():
        print(f"missing tools: {', '.join(missing)} (scripts/apt-packages.txt)", file=sys.stderr)
        return 2
    given = argv if argv is not None else sys.argv[1:]
    command = "python3 benchmarks/chaos.py " + shlex.join(given)
    results = []
    args.out.mkdir(parents=True, exist_ok=True)
    if args.parallel and len(args.seeds) > 1:
        results = _in_parallel(args, given)
    for seed in [] if results else args.seeds:
        settings = LabSettings(
            seed=seed,
            total_s=args.minutes * 60,
            latency_s=args.latency,
            call_interval_s=args.interval,
            kinds=tuple(args.kinds) if args.kinds else None,
        )
        t0 = time.monotonic()
        if args.keep:  # the nodes', peers' and emulator's logs, for a defect report
            data = ChaosLab(args.out / f"run-{seed}", settings).run()
        else:
            with tempfile.TemporaryDirectory(prefix=f"chaos-{seed}-") as tmp:
                data = ChaosLab(Path(tmp), settings).run()
        (args.out / f"raw-{seed}.json").write_text(json.dumps(raw_json(data), indent=1))
        judged = oracle.judge(data)
        results.append(judged)
        print(f"seed {seed}: {time.monotonic() - t0:.0f} s, {judged['violations']} violation(s)",
              flush=True)  # fmt: skip
    js, md = report.write(results, args.out, command)
    print(md.read_text())
    print(f"wrote {js} and {md}")
    for r in results:
        for v in r["safety"]["violations"]:
            print(f"seed {r['seed']}: SAFETY: {v}")
        for c in r["reachability"]["unreached_outside_windows"]:
            print(f"seed {r['seed']}: UNREACHED outside a window: {c}")
    return 1 if any(r["violations"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
