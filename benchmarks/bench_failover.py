"""Fail-over time after SIGKILL of the leader: prints figures against the session timeout.

    python3 benchmarks/bench_failover.py [--runs 5] [--session 2.0] [--handovers 3]

Starts a 3-server ZooKeeper ensemble (Debian's package, tickTime 200 ms, loopback ports), one
``hotline modem-sim`` and three ``hotline run`` daemons (tests/ha/daemon_lab.py). Each run, with
the route verified on primary: SIGKILL the leader *and* break trunk A at the same instant, then
time

- *leader*: until exactly one other node answers ``GET /leader`` with 200 (it may actuate);
- *actuation*: until the modem emulator has received the new leader's AT+CCFC write of the
  secondary line's number and that leader's ``/v1/status`` shows it verified.

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

from tests.ha.daemon_lab import DaemonLab  # noqa: E402
from tests.support.zk_lab import ZkEnsemble, available  # noqa: E402

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


def verified(lab: DaemonLab, node: str, route: str) -> bool:
    code, body = lab.get(node, "/v1/status")
    active = body["active"] if code == 200 else {}
    return bool(active.get("route") == route and active.get("verified"))


def one_run(lab: DaemonLab) -> tuple[float, float]:
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--session", type=float, default=2.0, help="ZooKeeper session timeout, s")
    p.add_argument("--handovers", type=int, default=3, help="SIGTERM switchovers to time")
    args = p.parse_args()
    if not available():
        print("ZooKeeper (Debian package) or java not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        ens = ZkEnsemble(Path(tmp) / "zk", 3, tick_ms=200).start(60)
        lab = DaemonLab(Path(tmp) / "lab", ens.hosts, session_s=args.session)
        try:
            lab.start_modem()
            lab.start()
            leader, act = [], []
            for i in range(args.runs):
                t_leader, t_act = one_run(lab)
                leader.append(t_leader)
                act.append(t_act)
                print(
                    f"run {i + 1}: new leader {t_leader:.2f}s, first verified actuation "
                    f"{t_act:.2f}s",
                    flush=True,
                )
            handovers = [one_handover(lab) for _ in range(args.handovers)]
        finally:
            lab.close()
            ens.stop()
    s = args.session
    print(
        f"\nsession timeout {s:g}s, lease {0.6 * s:.2f}s, {args.runs} runs "
        "(SIGKILL of the leader → ...):"
    )
    for name, xs in (("new leader may actuate", leader), ("first verified actuation", act)):
        print(
            f"  {name:<26} min {min(xs):.2f}s  median {statistics.median(xs):.2f}s  "
            f"p90 {pct(xs, 0.9):.2f}s  max {max(xs):.2f}s  "
            f"({statistics.median(xs) / s:.2f} × session timeout)"
        )
    if handovers:
        print(
            f"  {'SIGTERM hand-over':<26} min {min(handovers):.2f}s  median "
            f"{statistics.median(handovers):.2f}s  max {max(handovers):.2f}s  "
            f"({len(handovers)} runs; target < 1 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
