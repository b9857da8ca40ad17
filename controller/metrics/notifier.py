"""The notifier's metrics: each channel's outbox (depth, age of the oldest message), deliveries
by channel and outcome, undeliverable messages, and the open incidents.

Read from the ``Notifier`` (its delivery counters and its SQLite store) at scrape time. Incidents
are counted on the node that leads only: a follower's copy of them is not kept current, so it
exports the family without series rather than a stale count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from controller.notifier.signal import Severity

if TYPE_CHECKING:
    from controller.notifier.service import Notifier


class NotifierCollector:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        n = self.notifier
        yield from self._outbox()
        m = n.delivery.metrics
        deliveries = CounterMetricFamily(
            "hotline_notifier_deliveries",
            "Delivery attempts by channel and outcome (sent; transient, permanent or unknown "
            "for a failed attempt).",
            labels=["channel", "outcome"],
        )
        sent = {name: 0 for name in n.channels} | m.sent
        for channel, count in sorted(sent.items()):
            deliveries.add_metric([channel, "sent"], count)
        for (channel, outcome), count in sorted(m.failures.items()):
            deliveries.add_metric([channel, outcome], count)
        yield deliveries
        yield CounterMetricFamily(
            "hotline_notifier_undeliverable",
            "Messages given up on every channel (too old, or refused everywhere).",
            value=m.undeliverable,
        )
        yield from self._incidents()

    def _outbox(self) -> Iterator[Metric]:
        n = self.notifier
        now = n.clock()
        depth = GaugeMetricFamily(
            "hotline_notifier_outbox_depth",
            "Messages waiting in the outbox, by the channel they wait on.",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "hotline_notifier_outbox_oldest_age_seconds",
            "Seconds since the oldest message waiting on the channel was queued; 0 when none.",
            labels=["channel"],
        )
        queued = {name: 0 for name in n.channels} | n.store.queued_per_channel()
        oldest = n.store.oldest_pending_per_channel()
        for channel, count in sorted(queued.items()):
            depth.add_metric([channel], count)
            at = oldest.get(channel)
            age.add_metric([channel], 0.0 if at is None else max((now - at).total_seconds(), 0.0))
        yield depth
        yield age

    def _incidents(self) -> Iterator[Metric]:
        n = self.notifier
        open_ = GaugeMetricFamily(
            "hotline_incidents_open",
            "Open incidents by severity (on the node that leads; no series elsewhere).",
            labels=["severity"],
        )
        unacked = GaugeMetricFamily(
            "hotline_incidents_unacknowledged",
            "Open incidents nobody acknowledged yet (on the node that leads).",
        )
        if n.is_leader is None or n.is_leader():
            incidents = n.store.incidents(state="open", limit=10_000)
            for sev in Severity:
                open_.add_metric([str(sev)], sum(1 for i in incidents if i.severity == sev))
            unacked.add_metric([], sum(1 for i in incidents if i.acked_at is None))
        yield open_
        yield unacked
