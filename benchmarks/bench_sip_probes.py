"""Benchmark: N SIP OPTIONS targets on loopback probed at 1 Hz by one HealthMonitor.

For N = 10, 100, 1000 it prints the CPU time per probe (this process's CPU time / samples), the
scheduling delay (actual − planned probe start, p50/p99) and our measured round trips, beside
sipp's own response times: one sipp UAS serves a tenth of the targets (at least one) and a sipp
UAC sends OPTIONS to that same UAS at 10/s with ``-trace_rtt``. The other targets are answered by
a lightweight responder in a *separate* process (one UDP port per target), so its CPU does not
count as ours. Everything stays on 127.0.0.1.

    python3 benchmarks/bench_sip_probes.py [--sizes 10,100,1000] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.config import ComponentSettings
from health.model import Status
from health.monitor import HealthMonitor

UAS_SCENARIO = Path(__file__).resolve().parents[1] / "tests/health/sipp/options_200.xml"
UAC_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options-uac">
  <send retrans="500">
    <![CDATA[
OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200" rtd="true" />
</scenario>
"""

# A minimal OPTIONS responder for many ports, run as a child process (not measured).
RESPONDER = r"""
import asyncio, json, sys
class P(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr):
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [l for l in head[1:] if l.split(b":", 1)[0].lower() in
                (b"via", b"from", b"to", b"call-id", b"cseq")]
        self.t.sendto(b"\r\n".join([b"SIP/2.0 200 OK", *keep, b"Content-Length: 0", b"", b""]),
                      addr)
async def main(n):
    loop = asyncio.get_running_loop()
    ports = []
    for _ in range(n):
        t, _ = await loop.create_datagram_endpoint(P, local_addr=("127.0.0.1", 0))
        ports.append(t.get_extra_info("sockname")[1])
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
asyncio.run(main(int(sys.argv[1])))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start(argv: list[str], workdir: Path, **kw: object) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
        argv, cwd=workdir, start_new_session=True, **kw
    )
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def run_size(n: int, duration: float, workdir: Path) -> dict[str, float]:
    uas_port, uac_port = free_port(), free_port()
    sipp_targets = max(1, n // 10)
    uas = start(
        ["sipp", "-sf", str(UAS_SCENARIO), "-i", "127.0.0.1", "-p", str(uas_port),
         "-cp", str(free_port()), "-nostdin", "-timeout", f"{duration + 30:.0f}s"],
        workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    responder = start(
        [sys.executable, "-c", RESPONDER, str(n - sipp_targets)],
        workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert responder.stdout is not None
    ports = [uas_port] * sipp_targets + json.loads(responder.stdout.readline())
    uac_dir = workdir / f"uac{n}"
    uac_dir.mkdir()
    (uac_dir / "uac.xml").write_text(UAC_SCENARIO)
    await asyncio.sleep(0.5)  # sipp UAS binding
    uac = start(
        ["sipp", f"127.0.0.1:{uas_port}", "-sf", "uac.xml", "-i", "127.0.0.1",
         "-p", str(uac_port), "-cp", str(free_port()), "-nostdin", "-r", "10",
         "-m", str(int(duration * 10)), "-trace_rtt", "-rtt_freq", "1"],
        uac_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    components = {
        f"t{i}": ComponentSettings.model_validate(
            {
                "kind": "trunk",
                "probes": [{"type": "sip", "uri": f"sip:127.0.0.1:{port}"}],
                "interval_s": 1.0,
                "timeout_s": 0.5,
                "jitter": 0.1,
            }
        )
        for i, port in enumerate(ports)
    }
    monitor = HealthMonitor(components, rng=random.Random(n))
    try:
        await monitor.start()
        await asyncio.sleep(2.0)  # warm-up: every component has its verdict
        monitor.schedule_delays_s.clear()
        cpu0, wall0, samples0 = time.process_time(), time.monotonic(), monitor.samples_taken
        await asyncio.sleep(duration)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        samples = monitor.samples_taken - samples0
        delays = [d * 1000 for d in monitor.schedule_delays_s]
        snap = monitor.snapshot()
    finally:
        await monitor.stop()
        for proc in (uac, uas, responder):
            stop(proc)
    up = sum(s.status is Status.UP for s in snap.components.values())
    p50s = [s.latency_p50_ms for s in snap.components.values() if s.latency_p50_ms is not None]
    rtts: list[float] = []
    for csv in uac_dir.glob("*_rtt.csv"):
        for line in csv.read_text().splitlines()[1:]:
            rtts.append(float(line.split(";")[1]))
    return {
        "n": n,
        "up": up,
        "probes_per_s": samples / wall,
        "cpu_us_per_probe": cpu / max(1, samples) * 1e6,
        "cpu_share": cpu / wall,
        "sched_p50_ms": pct(delays, 0.5),
        "sched_p99_ms": pct(delays, 0.99),
        "rtt_p50_ms": statistics.median(p50s) if p50s else float("nan"),
        "rtt_max_ms": max((s.latency_max_ms or 0) for s in snap.components.values()),
        "sipp_rtt_p50_ms": pct(rtts, 0.5),
        "sipp_rtt_p99_ms": pct(rtts, 0.99),
        "sipp_samples": len(rtts),
    }


def _row(r: dict[str, float]) -> str:
    sched = f"{r['sched_p50_ms']:.2f}/{r['sched_p99_ms']:.2f}"
    ours = f"{r['rtt_p50_ms']:.3f}/{r['rtt_max_ms']:.2f}"
    sipp = f"{r['sipp_rtt_p50_ms']:.0f}/{r['sipp_rtt_p99_ms']:.0f} ({r['sipp_samples']:.0f})"
    return (
        f"{r['n']:>5.0f} {r['up']:>5.0f} {r['probes_per_s']:>9.1f} "
        f"{r['cpu_us_per_probe']:>13.1f} {r['cpu_share'] * 100:>5.1f}% "
        f"{sched:>17} {ours:>19} {sipp:>24}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per size")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    if not all(1 <= s <= 5000 for s in sizes) or not 1 <= args.duration <= 600:
        print("sizes must be 1..5000, duration 1..600 s", file=sys.stderr)
        return 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.duration:g} s per size,"
          " interval 1 s, timeout 0.5 s")  # fmt: skip
    header = (
        f"{'N':>5} {'up':>5} {'probes/s':>9} {'CPU µs/probe':>13} {'CPU %':>6} "
        f"{'sched p50/p99 ms':>17} {'our RTT p50/max ms':>19} {'sipp RTT p50/p99 ms (n)':>24}"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        for n in sizes:
            r = asyncio.run(run_size(n, args.duration, Path(tmp)))
            print(_row(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
