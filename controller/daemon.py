"""The daemon: probes, coordination, the reconcile loop and the HTTP API in one asyncio process.

Start order: persisted state and event log, the modem link, the health monitor, the notifier, the
start-up read of the modem, the API, then the loop. SIGTERM/SIGINT set one stop event: the loop
finishes the tick in progress (a switch is never abandoned half-applied; bounded by
``reconcile.shutdown_grace_s``), then the API, the probes, the notifier, coordination and the
modem link are stopped in that order. A kill -9 cannot be caught; the change marker left in the
state makes the next start complete the interrupted switch (see ``controller.loop.reconcile``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from controller.calls.service import CallLog
from controller.clock import utcnow
from controller.config import HotlineConfig
from controller.config.actuators import ModemActuatorSettings
from controller.coordination.base import CoordinationError, Coordinator
from controller.coordination.local import LocalCoordinator
from controller.daemon_api import DaemonError, start_api
from controller.daemon_cluster import ClusterAgent, term_probe
from controller.loop.actuators.base import Actuator
from controller.loop.actuators.build import build_actuators
from controller.loop.actuators.modem import ModemActuator
from controller.loop.events import EventStore
from controller.loop.lastresort import LastResortWatch, modem_forward
from controller.loop.leader_view import LeaderView
from controller.loop.parts import SnapshotSource
from controller.loop.reconcile import Reconciler
from controller.notifier.service import Notifier
from controller.notifier.signal import NullSink, SignalSink
from controller.service.impl import ControllerServiceImpl
from controller.watchdog import Watchdog, warn_if_unsafe
from health.model import ComponentState, HealthSnapshot
from modem.device import ModemDevice
from modem.model import IncomingSms
from modem.url import is_local_device

if TYPE_CHECKING:
    from fastapi import FastAPI

    from health.monitor import HealthMonitor

log = logging.getLogger("hotline.daemon")


def make_coordinator(cfg: HotlineConfig, state_dir: Path) -> Coordinator:
    if cfg.coordination.backend == "local":
        return LocalCoordinator(state_dir / "coordination.db", cfg.node.name)
    from controller.coordination.zookeeper import ZooKeeperCoordinator  # issue 7

    assert cfg.coordination.zookeeper is not None  # the config model guarantees it
    coordinator: Coordinator = ZooKeeperCoordinator(cfg.coordination.zookeeper, cfg.node.name)
    return coordinator


class Monitor(SnapshotSource, Protocol):
    """The daemon's health source: ``health.monitor.HealthMonitor`` (or a test's, see ``Fixed``)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def subscribe(self) -> asyncio.Queue[ComponentState]:
        """A queue that receives every change of a component's status."""
        ...


class Fixed:
    """A test's snapshot source as the daemon's monitor: nothing to run, no changes to tell."""

    def __init__(self, source: SnapshotSource) -> None:
        self.source = source

    def snapshot(self) -> HealthSnapshot:
        return self.source.snapshot()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def subscribe(self) -> asyncio.Queue[ComponentState]:
        return asyncio.Queue()


@dataclass
class Parts:
    """Everything the daemon started, so it can be stopped in reverse order."""

    coordinator: Coordinator
    events: EventStore
    link: ModemDevice | None
    monitor: Monitor
    sink: SignalSink
    loop: Reconciler
    service: ControllerServiceImpl
    actuators: list[Actuator] = field(default_factory=list)
    view: LeaderView | None = None  # the loop's snapshot source (term freshness, majority rule)
    calls: CallLog | None = None

    @property
    def notifier(self) -> Notifier | None:
        """The sink when it is the notifier (not ``NullSink`` or a test's sink)."""
        return self.sink if isinstance(self.sink, Notifier) else None


def _build_monitor(cfg: HotlineConfig, link: ModemDevice | None) -> HealthMonitor:
    from health.monitor import HealthMonitor

    return HealthMonitor(cfg.components, modem=link)


def _build_sink(
    cfg: HotlineConfig, link: ModemDevice | None, state_dir: Path, coordinator: Coordinator
) -> SignalSink:
    """The notifier; ``is_leader`` keeps reminders and escalation to the leader, so a cluster
    reminds on-call once, not once per node (signals are only raised by the leader's loop)."""
    from controller.notifier import build_notifier

    if not cfg.notifier.enabled:
        return NullSink()
    sink: SignalSink = build_notifier(
        cfg, modem=link, state_dir=state_dir, is_leader=coordinator.is_leader, shared=coordinator
    )
    return sink


async def assemble(
    cfg: HotlineConfig,
    *,
    monitor: SnapshotSource | None = None,
    link: ModemDevice | None = None,
    sink: SignalSink | None = None,
) -> Parts:
    """Build (not start) every part; tests pass their own monitor, link or sink."""
    state_dir = Path(cfg.node.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    m = cfg.hotline.modem
    coordinator = make_coordinator(cfg, state_dir)
    if link is None:
        pin = None if m.pin is None else m.pin.get_secret_value()
        link = ModemDevice(
            m.url,
            pin=pin,
            command_timeout=m.command_timeout_s,
            baudrate=m.baudrate,
            network_timeout=m.network_timeout_s,
            may_open=_modem_gate(cfg, coordinator),
        )
    events = EventStore(state_dir / "events.db")
    actuators = build_actuators(cfg.actuators, link)
    mon: Monitor = Fixed(monitor) if monitor is not None else _build_monitor(cfg, link)
    sink = sink if sink is not None else _build_sink(cfg, link, state_dir, coordinator)
    # The loop decides on what a leader may believe: probes of its own term and, with
    # ``majority_view``, what most nodes see; /v1/status shows this node's own probes.
    view = LeaderView(mon, coordinator, cfg)
    loop = Reconciler(cfg, view, coordinator, events, actuators, sink)
    service = ControllerServiceImpl(cfg, loop, mon, coordinator, events)
    return Parts(
        coordinator,
        events,
        link,
        mon,
        sink,
        loop,
        service,
        actuators,
        view,
        _build_call_log(cfg, sink, state_dir),
    )


def _modem_gate(cfg: HotlineConfig, coordinator: Coordinator) -> Callable[[], bool] | None:
    """Who may open the modem. In a cluster only the leader holds it: a network serial port
    (ser2net: ``rfc2217://``, ``socket://``) serves one client, and on the modem's own host the
    device is also what ser2net serves to a remote leader. The modem host may open its local port
    without leading once it has lost the ZooKeeper quorum: the last-resort rule needs it then.
    "Leader" means may actuate now (lease running), so a leader resumed after a freeze past its
    session cannot reopen the port in the instant before it learns that its term is over."""
    if cfg.coordination.backend == "local":
        return None
    if not is_local_device(cfg.hotline.modem.url):
        return coordinator.may_actuate  # not is_leader: a node woken from a freeze still says so

    def leader_or_cut_off() -> bool:
        return coordinator.may_actuate() or coordinator.quorum_lost_since() is not None

    return leader_or_cut_off


def _build_call_log(cfg: HotlineConfig, sink: SignalSink, state_dir: Path) -> CallLog:
    """The PBX call log (callbacks, statistics), alerting through the notifier when there is one."""
    from controller.calls.service import build_call_log

    notifier = sink if isinstance(sink, Notifier) else None
    return build_call_log(cfg.notifier.calls, cfg.schedule.timezone, state_dir, notifier)


async def _start(parts: Parts) -> None:
    await parts.coordinator.start()
    await parts.monitor.start()
    if parts.notifier is not None:
        loop = parts.loop  # a technician's STATUS SMS answers the route in force
        parts.notifier.route_now = lambda: (
            None if loop.cache.route.route is None else str(loop.cache.route.route)
        )
        await parts.notifier.start()


async def _stop(parts: Parts) -> None:
    for part in (parts.monitor, parts.notifier):
        if part is None:
            continue
        try:
            await part.stop()
        except Exception:
            log.exception("stopping %s failed", type(part).__name__)
    for act in parts.actuators:
        with contextlib.suppress(Exception):
            await act.close()
    await parts.coordinator.stop()
    if parts.link is not None:
        await parts.link.close()
    if parts.calls is not None:
        parts.calls.store.close()
    parts.events.close()


async def _wake_on_health(parts: Parts) -> None:
    """A component changed status: run the next tick now instead of at the next interval."""
    queue = parts.monitor.subscribe()
    while True:  # ends by cancellation at shutdown
        await queue.get()
        parts.loop.wake()


def _side_tasks(
    parts: Parts, cfg: HotlineConfig, stop: asyncio.Event, watchdog: Watchdog
) -> list[asyncio.Task[None]]:
    """Every node, leader or not: publish its health view (the majority rule counts it), run
    the cluster agent (modem custody, member record; it pings the watchdog) and watch for the
    last-resort rule (it matters exactly when this node cannot lead)."""
    tasks = []
    if parts.view is not None:
        tasks.append(asyncio.create_task(parts.view.run(stop), name="health-views"))
    watch = _last_resort_watch(parts, cfg)
    agent = ClusterAgent(
        cfg,
        parts.coordinator,
        parts.link,
        parts.loop,
        watch,
        on_term=term_probe(parts.monitor, parts.view),
    )
    parts.service.agent = agent
    tasks.append(asyncio.create_task(agent.run(stop, watchdog.beat), name="cluster"))
    if watch is not None:
        tasks.append(
            asyncio.create_task(_run_last_resort(parts, cfg, watch, stop), name="last-resort")
        )
    if parts.link is not None and parts.notifier is not None:
        sms = _forward_incoming_sms(parts.link, parts.notifier, stop)
        tasks.append(asyncio.create_task(sms, name="incoming-sms"))
    return tasks


async def _forward_incoming_sms(link: ModemDevice, notifier: Notifier, stop: asyncio.Event) -> None:
    """SMS that reach the modem go to the notifier (``ACK <code>`` from a technician); the
    notifier ignores and logs unknown senders. Calls ringing the SIM need nothing from us."""
    queue = link.incoming()
    while not stop.is_set():
        try:
            item = await asyncio.wait_for(queue.get(), timeout=0.5)
        except TimeoutError:
            continue
        if not isinstance(item, IncomingSms):
            continue
        try:
            await notifier.handle_incoming_sms(item.sender, item.text)
        except Exception:  # one bad message must not stop the next ones
            log.exception("handling an incoming SMS failed")


def _last_resort_watch(parts: Parts, cfg: HotlineConfig) -> LastResortWatch | None:
    """The rule on this node; None where it can never fire (a single node, no modem link)."""
    if cfg.coordination.backend != "zookeeper" or parts.link is None:
        return None  # the local backend: a single node always leads
    settings = ModemActuatorSettings(type="modem", name="last-resort")
    modem = ModemActuator(settings, parts.link)
    return LastResortWatch(
        cfg, parts.coordinator.quorum_lost_since, modem_forward(modem), parts.sink
    )


async def _run_last_resort(
    parts: Parts, cfg: HotlineConfig, watch: LastResortWatch, stop: asyncio.Event
) -> None:
    """Evaluate the rule once per loop interval until ``stop``; a failure never ends the task."""
    while not stop.is_set():
        try:
            await watch.tick(parts.monitor.snapshot(), parts.loop.view.observed_number, utcnow())
        except Exception:  # the runner logs and signals its own failures; this is a bug guard
            log.exception("last-resort tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=cfg.reconcile.interval_s)


async def _end_side_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """They end on ``stop`` by themselves; one stuck in a call is cancelled after a bound."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=5)
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def serve(
    parts: Parts,
    cfg: HotlineConfig,
    stop: asyncio.Event,
    api: bool = True,
    extend_app: Callable[[FastAPI], None] | None = None,
) -> None:
    """Run until ``stop`` is set; returns after an orderly shutdown. ``extend_app`` may add
    routes to the API app (the demo lab's break/restore buttons). Raises ``DaemonError`` (after
    stopping what was started) when the API cannot listen."""
    watchdog = Watchdog()
    warn_if_unsafe(cfg, watchdog)
    await _start(parts)
    # The API starts while the start-up read of the modem runs (seconds on a real network), so
    # neither waits for the other before the first tick.
    starting = asyncio.ensure_future(
        start_api(cfg, parts.service, parts.notifier, parts.calls, extend_app)
        if api
        else asyncio.sleep(0, None)
    )
    try:
        await parts.loop.start_up()
        served = await starting
    except BaseException:
        starting.cancel()
        await _stop(parts)
        raise
    loop_task = asyncio.create_task(parts.loop.run(stop), name="reconcile")
    waker = asyncio.create_task(_wake_on_health(parts), name="health-waker")
    helpers = _side_tasks(parts, cfg, stop, watchdog)
    parts.service.mark_ready()
    watchdog.ready()
    log.info(
        "started node=%s api=%s dry_run=%s",
        cfg.node.name,
        cfg.api.listen if api else "off",
        cfg.reconcile.dry_run,
    )
    await stop.wait()
    log.info("stopping: finishing the tick in progress")
    watchdog.stopping()
    try:
        await asyncio.wait_for(asyncio.shield(loop_task), cfg.reconcile.shutdown_grace_s)
    except TimeoutError:
        grace = cfg.reconcile.shutdown_grace_s
        log.error("the loop did not finish within %.0fs; cancelling", grace)
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
    parts.service.mark_ready(False)
    waker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waker
    await _end_side_tasks(helpers)
    if served is not None:
        server, task = served
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
    await _stop(parts)
    log.info("stopped")


async def run_daemon(cfg: HotlineConfig, api: bool = True) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parts = await assemble(cfg)
    try:
        await serve(parts, cfg, stop, api=api)
    except (DaemonError, CoordinationError) as exc:  # e.g. an unreadable ZooKeeper password
        log.error("cannot run: %s", exc)
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
