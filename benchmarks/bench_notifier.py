"""How fast the notifier records and delivers: prints figures, asserts nothing.

    python3 benchmarks/bench_notifier.py [--signals 300] [--messages 1000] [--sms 20]
        [--latency 0.05 3] [--skip-basic]

1. signal → incident and messages durably queued (SQLite, synchronous=FULL): latency per signal.
2. outbox drain through an instant channel: messages per second (the store's own overhead).
3. signal → SMS accepted by the network, through the real driver and the modem emulator on
   127.0.0.1 (no emulated network delay): latency per alert.

With an SMTP server alongside that accepts and never answers (issue 14), the workers running
(``Notifier.start``) and the emulator's +CMGS taking each ``--latency`` (fast, and seconds per
SMS as a real network does):

4. three alerts: signal → SMS handed to the modem (its +CMGS arrives) and accepted (goal ≤ 1 s
   to hand-off for the first; the rest wait for the modem, one SMS at a time);
5. the modem refusing +CMGS with +CMS ERROR 331: signal → Twilio accepted (the real client
   through a CONNECT proxy to a local HTTPS endpoint; goal ≤ 3 s);
6. SMTP back (the hung server replaced by aiosmtpd): → the queued e-mails all delivered.
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


async def _until(check: Any, limit_s: float) -> float | None:
    """Seconds until ``check()`` holds (polled every 5 ms), None past ``limit_s``."""
    t = time.perf_counter()
    while time.perf_counter() - t < limit_s:
        if check():
            return time.perf_counter() - t
        await asyncio.sleep(0.005)
    return None


def _s(x: float | None) -> str:
    return "never" if x is None else f"{x:.2f} s"


async def _lab_modem(latency: float) -> tuple[Any, Any]:
    from modem.driver import Modem
    from modem.emulator import ModemEmulator
    from modem.emulator.control import handle

    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    handle(emu, {"cmd": "set_fault", "faults": {"latency_per_command": {"+CMGS": latency}}})
    modem = await Modem.open(f"socket://127.0.0.1:{port}", network_timeout=latency + 10)
    return emu, modem


def _alert(i: int) -> Signal:
    # three separate conditions (not one outage): three incidents, three SMS
    return Signal(f"cond{i}", True, Severity.CRITICAL, f"condition {i}", "", CLOCK(), "secondary")


async def bench_hung_smtp(d: Path, latency: float) -> None:
    from tests.notifier.smtp_peers import SilentSmtp

    silent = SilentSmtp()
    smtp_port = await silent.start()
    emu, modem = await _lab_modem(latency)
    cfg = lab_config(
        rate_limit_per_hour=10**6,
        escalation_timeout_s=0,
        smtp={"host": "127.0.0.1", "port": smtp_port, "tls": "none", "from": "h@example.org"},
    )
    n = build_notifier(cfg, modem=modem, state_dir=d, clock=CLOCK)
    await n.start()
    try:
        base = emu.attempts["+CMGS"]
        t0 = time.perf_counter()
        for i in range(3):
            await n.signal(_alert(i))
        checks = [lambda i=i: emu.attempts["+CMGS"] > base + i for i in range(3)]
        checks += [lambda i=i: len(emu.outbox) > i for i in range(3)]
        seen = await _watch(checks, t0, 30 + 4 * latency)
        mails = sum(1 for r in n.store.outbox() if r.state == "sending")
        print(
            f"hung SMTP, +CMGS {latency:g} s: signal -> SMS handed to the modem "
            f"{', '.join(map(_s, seen[:3]))}; accepted {', '.join(map(_s, seen[3:]))} "
            f"(e-mails stuck in SMTP: {mails})"
        )
    finally:
        await n.stop(grace_s=0.2)
        await modem.close()
        await emu.stop()
        await silent.stop()


async def _watch(checks: list[Any], t0: float, limit_s: float) -> list[float | None]:
    """When (seconds since ``t0``) each check first held, polling all every 5 ms."""
    seen: list[float | None] = [None] * len(checks)
    while time.perf_counter() - t0 < limit_s and None in seen:
        for i, check in enumerate(checks):
            if seen[i] is None and check():
                seen[i] = time.perf_counter() - t0
        await asyncio.sleep(0.005)
    return seen


async def bench_refusal(d: Path, latency: float, refuse: bool = True) -> None:
    from controller.notifier.channels import ModemSmsChannel, TwilioSmsChannel
    from controller.notifier.settings import TwilioSettings
    from modem.emulator.control import handle
    from tests.notifier.twilio_lab import twilio_lab

    emu, modem = await _lab_modem(latency)
    n0 = emu.attempts["+CMGS"]
    errors = [
        {"command": "+CMGS", "attempt": n0 + k, "code": 331, "kind": "cms"} for k in (1, 2, 3)
    ]
    if refuse:
        handle(emu, {"cmd": "set_fault", "faults": {"errors": errors}})
    d.mkdir(parents=True, exist_ok=True)
    with twilio_lab(d) as lab:
        cfg = lab_config(
            channels=["modem_sms", "twilio_sms"],
            twilio=lab.settings(),
            rate_limit_per_hour=10**6,
            escalation_timeout_s=0,
        )
        store = NotifierStore(d / "r.sqlite3")
        twilio = TwilioSmsChannel(TwilioSettings.model_validate(lab.settings()))
        chans = {"modem_sms": ModemSmsChannel(modem), "twilio_sms": twilio}
        n = Notifier(cfg, cfg.notifier, store, chans, clock=CLOCK)  # type: ignore[arg-type]
        await n.start()
        try:
            t0 = time.perf_counter()
            for i in range(3):
                await n.signal(_alert(i))
            if refuse:
                checks = [lambda i=i: len(lab.server.requests) > i for i in range(3)]
                got = await _watch(checks, t0, 30 + 4 * latency)
                print(
                    f"modem refuses (+CMS 331 after {latency:g} s): signal -> Twilio accepted "
                    f"{', '.join(map(_s, got))} (modem tried {emu.attempts['+CMGS'] - n0}x)"
                )
                return
            checks = [lambda: len(emu.outbox) > 0]
            checks += [lambda i=i: len(lab.server.requests) > i for i in range(2)]
            got = await _watch(checks, t0, 30 + 4 * latency)
            print(
                f"burst of 3, +CMGS {latency:g} s, Twilio beside (lane_wait_s "
                f"{n.settings.lane_wait_s:g}): modem accepted {_s(got[0])}; the two queued behind "
                f"it reached Twilio {', '.join(map(_s, got[1:]))}"
            )
        finally:
            await n.stop(grace_s=0.5)
            await modem.close()
            await emu.stop()


async def bench_grouped(d: Path) -> None:
    """A WARNING opening waits ``group_delay_s`` for the rest of its outage; a CRITICAL within
    that time upgrades the same SMS in place: one SMS, one code."""
    emu, modem = await _lab_modem(0.05)
    n = build_notifier(lab_config(escalation_timeout_s=0), modem=modem, state_dir=d, clock=CLOCK)
    await n.start()
    try:
        t0 = time.perf_counter()
        warn = Signal("route", True, Severity.WARNING, "to secondary", "", CLOCK(), "secondary",
                      down=("trunk-a",))  # fmt: skip
        await n.signal(warn)
        await asyncio.sleep(0.2)
        crit = Signal("route", True, Severity.CRITICAL, "to oncall", "", CLOCK(), "oncall",
                      down=("trunk-a", "trunk-b"))  # fmt: skip
        await n.signal(crit)
        (first,) = await _watch([lambda: len(emu.outbox) > 0], t0, 10)
        await asyncio.sleep(1.0)
        texts = [sms.text.split(":")[0] for sms in emu.outbox]
        print(
            f"grouping: WARNING then CRITICAL 0.2 s later "
            f"(group_delay_s {n.settings.group_delay_s:g}): "
            f"{len(emu.outbox)} SMS {texts} accepted {_s(first)} after the first signal"
        )
    finally:
        await n.stop(grace_s=0.5)
        await modem.close()
        await emu.stop()


async def bench_smtp_back(d: Path, mails: int) -> None:
    from aiosmtpd.controller import Controller

    from tests.notifier.smtp_peers import Inbox, SilentSmtp

    silent = SilentSmtp()
    port = await silent.start()
    retry = {"initial_backoff_s": 1, "max_backoff_s": 5}
    smtp = {"host": "127.0.0.1", "port": port, "tls": "none", "from": "h@example.org"}
    cfg = lab_config(
        channels=["email"],
        smtp=smtp | {"timeout_s": 2},
        retry=retry,
        rate_limit_per_hour=10**6,
        escalation_timeout_s=0,
        email_copy=False,
    )
    n = build_notifier(cfg, modem=None, state_dir=d, clock=CLOCK)
    await n.start()
    inbox = Inbox()
    ctl = None
    try:
        for i in range(mails):
            await n.signal(_alert(i))
        await asyncio.sleep(3)  # the relay hangs: each attempt times out after 2 s
        await silent.stop()
        ctl = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
        ctl.start()
        took = await _until(lambda: len(inbox.to) >= mails, 60)
        print(
            f"SMTP back after a hang (timeout 2 s, backoff 1..5 s): {mails} queued e-mails "
            f"delivered {_s(took)} after the relay answered"
        )
    finally:
        if ctl is not None:
            ctl.stop()
        await n.stop(grace_s=0.5)


async def main(args: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if not args.skip_basic:
            await bench_signal(d, args.signals)
            await bench_drain(d, args.messages)
            await bench_modem(d / "m", args.sms)
        for latency in args.latency:
            await bench_hung_smtp(d / f"h{latency}", latency)
            await bench_refusal(d / f"r{latency}", latency)
            if latency >= 1:
                await bench_refusal(d / f"b{latency}", latency, refuse=False)
        await bench_grouped(d / "g")
        await bench_smtp_back(d / "s", 5)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--signals", type=int, default=300)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--sms", type=int, default=20)
    p.add_argument("--latency", type=float, nargs="+", default=[0.05, 3.0])
    p.add_argument("--skip-basic", action="store_true")
    asyncio.run(main(p.parse_args()))
