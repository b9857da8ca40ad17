"""Fail-over time after SIGKILL of the leader: prints figures against the session timeout.

    python3 benchmarks/bench_failover.py [--runs 10] [--session 2.0] [--handovers 3]
        [--latency 0.5] [--fast 0.02] [--direct]

Starts a 3-server ZooKeeper ensemble (Debian's package, tickTime 200 ms, loopback ports), one
``hotline modem-sim`` behind real ser2net 4 with ``kickolduser`` (``--direct``: the emulator's
own TCP port) and three ``hotline run`` daemons (tests/ha/daemon_lab.py). It runs twice: with
``--latency`` seconds per network operation (+CCFC; 0.5 s is a real network's order) and with
``--fast`` (the old 20 ms figure; 0 skips it). Each run, with the route verified on primary:
SIGKILL the leader *and* break trunk A at the same instant, then time

- *leader*: until exactly one other node answers ``GET /leader`` with 200 (it may actuate);
- *actuation*: until the modem emulator has received the new leader's AT+CCFC write of the
  secondary line's number and that leader's ``/v1/status`` shows it verified;
- where the time went, from the new leader's log and the modem's transcript: term won, modem
  opened, the +CCFC write received.

A client learns that the dead leader's session expired only when the server expires it, so both
figures are bounded below by the session timeout; the rest is election, the first probe round of
the new term and the modem's own latency. Between runs the killed node is restarted and trunk A
restored (the route fails back). Then --handovers controlled switchovers: SIGTERM to the leader
(it leaves the election on its way out) until another node answers ``GET /leader``. Nothing is
asserted; bounded by --runs, --handovers and per-step timeouts.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datetime import datetime  # noqa: E402

from tests.ha.daemon_lab import DaemonLab  # noqa: E402
from tests.support.zk_lab import ZkEnsemble, available  # noqa: E402

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


def verified(lab: DaemonLab, node: str, route: str) -> bool:
    code, body = lab.get(node, "/v1/status")
    active = body["active"] if code == 200 else {}
    return bool(active.get("route") == route and active.get("verified"))


def logged_at(lab: DaemonLab, node: str, marker: str, after: float) -> float | None:
    """Wall time of the first line of ``node``'s log with ``marker`` after ``after``."""
    for line in (lab.tmp / f"{node}.log").read_text(errors="replace").splitlines():
        if marker not in line:
            continue
        try:
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if at > after:
            return at
    return None


def one_run(lab: DaemonLab, steps: list[dict[str, float]]) -> tuple[float, float]:
    old = lab.one_leader(30)
    lab.wait("primary verified", lambda: verified(lab, old, "primary"), 30)
    lab.signal(old, signal.SIGKILL)
    lab.break_("trunk-a")
    t0 = time.monotonic()
    wall0 = time.time()
    new = lab.one_leader(lab.session_s * 10, exclude=old)
    t_leader = time.monotonic() - t0
    lab.wait(
        "the new leader's +CCFC write",
        lambda: any(t > wall0 and SECONDARY in c for t, _, c in lab.ccfc_writes()),
        30,
    )
    lab.wait("secondary verified", lambda: verified(lab, new, "secondary"), 30)
    t_act = time.monotonic() - t0
    write = min(t for t, _, c in lab.ccfc_writes() if t > wall0 and SECONDARY in c)
    marks = {
        "term won": logged_at(lab, new, "zk.leadership won", wall0),
        "modem open": logged_at(lab, new, "event=modem_opened", wall0),
        "+CCFC write": write,
    }
    steps.append({k: v - wall0 for k, v in marks.items() if v is not None})
    lab.procs[old].wait(10)
    lab.start(old)
    lab.restore("trunk-a")
    lab.wait("failback to primary", lambda: lab.forwarded_to() == PRIMARY, 30)
    return t_leader, t_act


def one_handover(lab: DaemonLab) -> float:
    old = lab.one_leader(30)
    lab.procs[old].send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    lab.one_leader(10, exclude=old)
    took = time.monotonic() - t0
    lab.procs[old].wait(15)
    lab.start(old)
    return took


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def series(args: argparse.Namespace, tmp: Path, latency: float) -> None:
    ens = ZkEnsemble(tmp / "zk", 3, tick_ms=200).start(60)
    lab = DaemonLab(
        tmp / "lab", ens.hosts, session_s=args.session, latency_s=latency, ser2net=not args.direct
    )
    steps: list[dict[str, float]] = []
    try:
        lab.start_modem()
        lab.start()
        leader, act = [], []
        for i in range(args.runs):
            t_leader, t_act = one_run(lab, steps)
            leader.append(t_leader)
            act.append(t_act)
            where = ", ".join(f"{k} +{v:.2f}s" for k, v in steps[-1].items())
            print(
                f"run {i + 1}: new leader {t_leader:.2f}s, first verified actuation "
                f"{t_act:.2f}s ({where})",
                flush=True,
            )
        handovers = [one_handover(lab) for _ in range(args.handovers)]
    finally:
        lab.close()
        ens.stop()
    report(args, latency, leader, act, handovers)


def report(
    args: argparse.Namespace,
    latency: float,
    leader: list[float],
    act: list[float],
    handovers: list[float],
) -> None:
    s = args.session
    bound = s + 1.5
    path = "direct TCP" if args.direct else "ser2net kickolduser"
    print(
        f"\n{latency:g}s per network operation, {path}; session timeout {s:g}s, lease "
        f"{0.6 * s:.2f}s, {args.runs} runs (SIGKILL of the leader → ...):"
    )
    for name, xs in (("new leader may actuate", leader), ("first verified actuation", act)):
        print(
            f"  {name:<26} min {min(xs):.2f}s  median {statistics.median(xs):.2f}s  "
            f"p90 {pct(xs, 0.9):.2f}s  max {max(xs):.2f}s  "
            f"({statistics.median(xs) / s:.2f} × session timeout)"
        )
    within = sum(x <= bound for x in act)
    print(f"  verified within session timeout + 1.5 s ({bound:g}s): {within} of {len(act)} runs")
    if handovers:
        print(
            f"  {'SIGTERM hand-over':<26} min {min(handovers):.2f}s  median "
            f"{statistics.median(handovers):.2f}s  max {max(handovers):.2f}s  "
            f"({len(handovers)} runs; target < 1 s)"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--session", type=float, default=2.0, help="ZooKeeper session timeout, s")
    p.add_argument("--handovers", type=int, default=3, help="SIGTERM switchovers to time")
    p.add_argument("--latency", type=float, default=0.5, help="s per network operation")
    p.add_argument("--fast", type=float, default=0.02, help="the fast modem's figure; 0: skip")
    p.add_argument("--direct", action="store_true", help="the emulator's TCP port, no ser2net")
    args = p.parse_args()
    if not available():
        print("ZooKeeper (Debian package) or java not installed", file=sys.stderr)
        return 1
    for latency in [args.latency] + ([args.fast] if args.fast > 0 else []):
        with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
            series(args, Path(tmp), latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
