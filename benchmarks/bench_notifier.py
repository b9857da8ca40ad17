"""How fast the notifier records and delivers: prints figures, asserts nothing.

    python3 benchmarks/bench_notifier.py [--signals 300] [--messages 1000] [--sms 20]

1. signal → incident and messages durably queued (SQLite, synchronous=FULL): latency per signal.
2. outbox drain through an instant channel: messages per second (the store's own overhead).
3. signal → SMS accepted by the network, through the real driver and the modem emulator on
   127.0.0.1 (no emulated network delay): latency per alert.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.notifier import build_notifier  # noqa: E402
from controller.notifier.rows import Message  # noqa: E402
from controller.notifier.service import Notifier  # noqa: E402
from controller.notifier.signal import Severity, Signal  # noqa: E402
from controller.notifier.store import NotifierStore  # noqa: E402
from tests.notifier.helpers import lab_config  # noqa: E402
from tests.support.clocks import ticking_from  # noqa: E402

# The notifier's time starts at a fixed Wednesday morning whatever day the benchmark runs, so
# quiet hours and rotations cannot change its figures.
CLOCK = ticking_from(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))


class Instant:
    name = "modem_sms"

    def accepts(self, m: Message) -> bool:
        return True

    async def send(self, m: Message) -> str:
        return "ok"


def sig(key: str, active: bool = True) -> Signal:
    return Signal(
        key,
        active,
        Severity.CRITICAL,
        "primary down; calls go to secondary",
        "trunk-a: timeout",
        CLOCK(),
        "secondary",
        1,
    )


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def report(name: str, ms: list[float]) -> None:
    print(
        f"{name}: n={len(ms)} p50={statistics.median(ms):.2f} ms p95={pct(ms, 0.95):.2f} ms "
        f"max={max(ms):.2f} ms"
    )


async def bench_signal(d: Path, n: int) -> None:
    cfg = lab_config(subscribers={"critical": ["+420600111222", "noc@example.org"]})
    notifier = Notifier(
        cfg, cfg.notifier, NotifierStore(d / "a.sqlite3"), {"modem_sms": Instant()}, clock=CLOCK
    )
    ms: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        await notifier.signal(sig(f"k{i}"))
        ms.append((time.perf_counter() - t) * 1000)
    report("signal -> incident + 3 messages queued (fsync)", ms)
    notifier.store.close()


async def bench_drain(d: Path, n: int) -> None:
    cfg = lab_config(rate_limit_per_hour=10**6)
    notifier = Notifier(
        cfg, cfg.notifier, NotifierStore(d / "b.sqlite3"), {"modem_sms": Instant()}, clock=CLOCK
    )
    now = CLOCK()
    for i in range(n):
        notifier.store.enqueue(
            Message(
                f"m{i}",
                "open",
                "critical",
                f"r{i % 50}",
                ("modem_sms",),
                "text",
                "s",
                "b",
                mobile="+420777000001",
            ),
            now,
        )
    t = time.perf_counter()
    sent = 0
    for _ in range(n):  # bounded: at most one round per message
        got = await notifier.delivery.deliver_due(limit=200)
        sent += got
        if got == 0:
            break
    dt = time.perf_counter() - t
    print(f"outbox drain, instant channel: {sent} messages in {dt:.2f} s = {sent / dt:.0f} msg/s")
    notifier.store.close()


async def bench_modem(d: Path, n: int) -> None:
    from modem.driver import Modem
    from modem.emulator import ModemEmulator

    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    modem = await Modem.open(f"socket://127.0.0.1:{port}")
    notifier = build_notifier(
        lab_config(rate_limit_per_hour=10**6), modem=modem, state_dir=d, clock=CLOCK
    )
    ms: list[float] = []
    try:
        for i in range(n):
            t = time.perf_counter()
            await notifier.signal(sig(f"m{i}"))
            await notifier.run_once()
            ms.append((time.perf_counter() - t) * 1000)
            assert len(emu.outbox) == i + 1
        report("signal -> SMS accepted by the emulated network (driver, PDU mode)", ms)
    finally:
        notifier.store.close()
        await modem.close()
        await emu.stop()


async def main(args: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        await bench_signal(d, args.signals)
        await bench_drain(d, args.messages)
        await bench_modem(d / "m", args.sms)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--signals", type=int, default=300)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--sms", type=int, default=20)
    asyncio.run(main(p.parse_args()))
