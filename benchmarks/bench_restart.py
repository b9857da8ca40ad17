"""Restart after kill -9 in the middle of a forwarding change (127.0.0.1 only; bounded waits):

    python3 benchmarks/bench_restart.py [--latency 3 --latency 0.05]

A real ``hotline run`` and ``hotline modem-sim`` (tests/controller/crash_lab.py). For each
emulated network latency per +CCFC operation, the daemon is SIGKILLed while a switch
(primary → secondary) and then a failback (secondary → primary) are in flight, once in the write
and once in the write's read-back, and restarted. Printed per restart: what the modem held, the
+CCFC operations the restart made until ``/v1/status`` showed the route verified, and the time
from starting the process (and from its first modem operation) to that. A failback whose write
never reached the modem waits the failback hold (1 s here) again after the restart: the decision
is taken afresh on the route the modem still holds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.controller.crash_lab import NUMBERS, PRIMARY, SECONDARY, CrashLab, ops_text


def _restart(lab: CrashLab, what: str, target: str) -> None:
    held = lab.settle()
    started = lab.start_daemon()
    seen = lab.wait_verified(target, timeout=120 + 10 * lab.latency_s)
    ops = lab.ccfc_ops(started)
    first = ops[0].at - started if ops else float("nan")
    holds = NUMBERS.get(held, str(held)) if held else "nothing"
    print(
        f"  {what:<34} modem held {holds:<9} "
        f"{len(ops)} op(s) [{ops_text(ops)}]; verified {seen - started:5.1f}s after start, "
        f"{seen - ops[0].at if ops else float('nan'):5.1f}s after its first op "
        f"(first op at +{first:.1f}s)"
    )


def run(latency: float, switch_kill: str, failback_kill: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lab = CrashLab(Path(tmp), latency)
        try:
            lab.start_modem()
            lab.start_daemon()
            lab.wait_verified("primary", timeout=60 + 5 * latency)
            lab.break_("trunk-a")
            lab.kill_during(switch_kill, SECONDARY, timeout=60 + 5 * latency)
            _restart(lab, f"switch, killed mid-{switch_kill}:", "secondary")
            lab.restore("trunk-a")
            lab.kill_during(failback_kill, PRIMARY, timeout=60 + 5 * latency)
            _restart(lab, f"failback, killed mid-{failback_kill}:", "primary")
        finally:
            lab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, action="append", help="seconds per +CCFC op")
    args = parser.parse_args()
    for latency in args.latency or [3.0, 0.05]:
        print(f"modem at {latency:g} s per +CCFC operation:")
        t0 = time.monotonic()
        run(latency, "write", "readback")
        run(latency, "readback", "write")
        print(f"  ({time.monotonic() - t0:.0f} s for these four restarts)")


if __name__ == "__main__":
    main()
