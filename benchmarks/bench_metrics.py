"""What a Prometheus scrape of ``/metrics`` costs the daemon's event loop: prints figures,
asserts nothing.

    python3 benchmarks/bench_metrics.py [--scrapes 200] [--pending 1000]

The collectors run on the event loop (they read the loop's cached view), so a scrape holds the
loop for its whole collection. Measured in-process on the real service over a reconcile loop
(in-memory forwarding, the lab config's components), the real notifier store with ``--pending``
messages waiting in the outbox, and the app's full registry (build, process, platform and GC
metrics included): p50 / p99 milliseconds per collection of each part and of the whole text.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.api.app import create_app  # noqa: E402
from controller.config.actuators import ModemActuatorSettings  # noqa: E402
from controller.coordination.local import LocalCoordinator  # noqa: E402
from controller.loop.actuators.modem import ModemActuator  # noqa: E402
from controller.loop.events import EventStore  # noqa: E402
from controller.loop.reconcile import Reconciler  # noqa: E402
from controller.metrics import exposition, render_text  # noqa: E402
from controller.metrics.status import StatusCollector  # noqa: E402
from controller.notifier.rows import Message  # noqa: E402
from controller.notifier.service import Notifier  # noqa: E402
from controller.notifier.store import NotifierStore  # noqa: E402
from controller.service.impl import ControllerServiceImpl  # noqa: E402
from tests.controller.helpers import FakeHealth, MemoryForwarding, lab_config  # noqa: E402
from tests.notifier.helpers import RecordingChannel  # noqa: E402


def timed(what: str, fn: Callable[[], object], n: int) -> None:
    fn()  # warm
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{what:<44} p50 {statistics.median(ms):7.3f} ms   p99 {p99:7.3f} ms")


async def main(scrapes: int, pending: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    cfg = lab_config(actuators=[{"type": "modem", "retries": 0, "timeout_s": 5}])
    health = FakeHealth(cfg, datetime.now(UTC))
    coord = LocalCoordinator(tmp / "state.db", cfg.node.name)
    events = EventStore(tmp / "events.db")
    acts = [ModemActuator(ModemActuatorSettings(type="modem", retries=0), MemoryForwarding())]
    loop = Reconciler(cfg, health, coord, events, acts)  # type: ignore[arg-type]
    svc = ControllerServiceImpl(cfg, loop, health, coord, events)
    store = NotifierStore(tmp / "notifier.sqlite3")
    now = datetime.now(UTC)
    with store.transaction():
        for i in range(pending):
            m = Message(f"bench/{i}", "open", "critical", "alice", ("modem_sms",), "x", "s", "b")
            store.enqueue(m, now, cursor="modem_sms")
    notifier = Notifier(cfg, cfg.notifier, store, {"modem_sms": RecordingChannel("modem_sms")})
    await coord.start()
    await loop.start_up()
    await loop.tick()
    app = create_app(svc, cfg, notifier=notifier)
    registry = app.state.metrics_registry
    print(f"{len(cfg.components)} components, {pending} pending outbox messages, {scrapes} runs")
    timed(
        "status collector (service.status())",
        lambda: render_text(StatusCollector(svc, "n")),
        scrapes,
    )
    timed(
        "controller collector (loop, probes, coord)",
        lambda: render_text(*svc.collectors()),
        scrapes,
    )
    timed(
        "notifier collector (outbox, incidents)", lambda: render_text(notifier.collector()), scrapes
    )
    timed("the app's whole registry, as text", lambda: exposition(registry), scrapes)
    print(f"one scrape: {len(exposition(registry))} bytes")
    await notifier.stop()
    await coord.stop()
    events.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--pending", type=int, default=1000)
    args = ap.parse_args()
    asyncio.run(main(args.scrapes, args.pending))
