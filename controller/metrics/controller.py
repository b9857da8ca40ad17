"""The metrics of a node's own machinery: the reconcile loop's counters, each component's last
probe sample, the coordination backend (leadership, quorum, session) and the modem's last status.

Read from ``ControllerServiceImpl`` (the loop, its monitor, the coordinator, the cluster agent's
modem) when Prometheus scrapes; nothing is copied into metric objects in between.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from controller.config import Route
from controller.loop.parts import LoopCounters
from controller.metrics.status import flag, gauge, one_of
from modem.device import ModemDevice
from modem.parse import REGISTRATION

if TYPE_CHECKING:
    from controller.service.impl import ControllerServiceImpl

ZK_SESSIONS = ("connecting", "connected", "suspended", "lost", "not started")
"""The ZooKeeper session's states as ``ZooKeeperCoordinator.session_state()`` says them."""
REGISTRATIONS = tuple(dict.fromkeys(REGISTRATION.values()))


def counter(name: str, help_: str, value: float | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_, value=value)


class ControllerCollector:
    def __init__(self, service: ControllerServiceImpl) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        svc = self.service
        yield from loop_counters(svc.loop.counters)
        yield from self._components()
        yield from self._coordination()
        agent = svc.agent
        link = agent.link if agent is not None else None
        if isinstance(link, ModemDevice):
            yield from self._modem(link)

    def _components(self) -> Iterator[Metric]:
        svc = self.service
        snap, now = svc.monitor.snapshot(), svc.clock()
        samples = CounterMetricFamily(
            "hotline_component_samples",
            "Probe samples taken of the component on this node.",
            labels=["component"],
        )
        age = GaugeMetricFamily(
            "hotline_component_last_sample_age_seconds",
            "Seconds since the component's last probe sample on this node (absent: never).",
            labels=["component"],
        )
        interval = GaugeMetricFamily(
            "hotline_component_probe_interval_seconds",
            "The component's configured probe interval (for staleness rules).",
            labels=["component"],
        )
        latency = GaugeMetricFamily(
            "hotline_component_latency_seconds",
            "Latency of the component's last probe sample (absent: not measured).",
            labels=["component"],
        )
        for name, spec in svc.cfg.components.items():
            st = snap.get(name)
            samples.add_metric([name], st.samples)
            interval.add_metric([name], float(spec.interval_s))
            if st.last_at is not None:
                age.add_metric([name], max((now - st.last_at).total_seconds(), 0.0))
            if st.latency_ms is not None:
                latency.add_metric([name], st.latency_ms / 1000)
        yield from (samples, age, interval, latency)

    def _coordination(self) -> Iterator[Metric]:
        svc = self.service
        coord, node = svc.coord, svc.cfg.node.name
        leader = GaugeMetricFamily(
            "hotline_leader",
            "1 while this node holds the leadership (won the election; the local backend "
            "always does). Whether it may act now is hotline_may_actuate.",
            labels=["node"],
        )
        leader.add_metric([node], flag(coord.is_leader()))
        yield leader
        lost = coord.quorum_lost_since()
        yield gauge(
            "hotline_coordination_quorum",
            "1 while the coordination backend answers (ZooKeeper quorum reachable).",
            flag(lost is None),
        )
        yield gauge(
            "hotline_coordination_quorum_lost_seconds",
            "Seconds since the coordination backend stopped answering; 0 while it answers.",
            0.0 if lost is None else max(time.monotonic() - lost, 0.0),
        )
        yield gauge(
            "hotline_coordination_epoch",
            "The newest leadership term this node knows of.",
            float(coord.cluster_epoch()),
        )
        backend = svc.cfg.coordination.backend
        state = _session_state(svc)
        family = GaugeMetricFamily(
            "hotline_coordination_session",
            "1 for the state of this node's coordination session (ZooKeeper: connecting, "
            "connected, suspended, lost, not started; the local backend: local).",
            labels=["backend", "state"],
        )
        for value in ZK_SESSIONS if backend == "zookeeper" else ("local",):
            family.add_metric([backend, value], flag(value == state))
        yield family

    def _modem(self, link: ModemDevice) -> Iterator[Metric]:
        yield gauge(
            "hotline_modem_port_open",
            "1 while this node holds the modem's port open (in a cluster: the leader).",
            flag(link.is_open()),
        )
        last = link.last_status
        if last is None:
            return
        st, at = last
        yield gauge(
            "hotline_modem_status_age_seconds",
            "Seconds since the modem last answered a status query on this node.",
            max((self.service.clock() - at).total_seconds(), 0.0),
        )
        yield gauge(
            "hotline_modem_sim_ready", "1 when the SIM is ready (+CPIN: READY).", flag(st.sim_ready)
        )
        yield gauge(
            "hotline_modem_registered",
            "1 when the modem is registered (home or roaming, +CREG stat 1 or 5).",
            flag(st.registered),
        )
        yield one_of(
            "hotline_modem_registration",
            "1 for the modem's network registration state (+CREG/+CEREG <stat>).",
            "state",
            REGISTRATIONS,
            st.registration,
        )
        if st.signal_dbm is not None:  # +CSQ 99: not known, no sample
            yield gauge(
                "hotline_modem_signal_dbm",
                "Received signal strength from +CSQ, in dBm (-113 + 2 x rssi); absent when "
                "the modem cannot tell (rssi 99).",
                float(st.signal_dbm),
            )


def _session_state(svc: ControllerServiceImpl) -> str:
    from controller.daemon_cluster import session_state

    return session_state(svc.coord)


def loop_counters(c: LoopCounters) -> Iterator[Metric]:
    yield counter("hotline_reconcile_ticks", "Reconcile loop ticks.", c.ticks)
    decisions = CounterMetricFamily("hotline_decisions", "Decisions by cause.", labels=["cause"])
    for cause, n in sorted(c.decisions.items()):
        decisions.add_metric([cause], n)
    yield decisions
    switches = CounterMetricFamily(
        "hotline_switches", "Verified route changes by route reached.", labels=["route"]
    )
    for r in Route:
        switches.add_metric([str(r)], c.switches.get(str(r), 0))
    yield switches
    yield counter("hotline_switch_failures", "Route changes that failed.", c.switch_failures)
    yield counter("hotline_drift", "Drift found by the periodic read-back.", c.drifts)
    steps = CounterMetricFamily(
        "hotline_actuations", "Actuator steps by outcome.", labels=["actuator", "outcome"]
    )
    for (actuator, outcome), n in sorted(c.steps.items()):
        steps.add_metric([actuator, outcome], n)
    yield steps
    spent = CounterMetricFamily(
        "hotline_actuation_seconds", "Time spent in actuator steps.", labels=["actuator"]
    )
    for actuator, seconds in sorted(c.step_seconds.items()):
        spent.add_metric([actuator], seconds)
    yield spent
    if c.last_switch_seconds is not None:
        yield gauge(
            "hotline_last_switch_seconds",
            "Duration of the last verified switch.",
            c.last_switch_seconds,
        )
