"""The API's own counters, a collector in the app's registry (``/metrics``, ``controller.metrics``):
requests refused by authentication or authorization, and manual actions by outcome."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

_AUTH_HELP = "Requests refused by the API's authentication or authorization, by reason."
_ACTION_HELP = (
    "Manual actions (failover, failback, pause, resume, handover) through the API, by outcome."
)


ACTIONS = ("failover", "failback", "pause", "resume", "handover")


class ApiMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._auth: Counter[str] = Counter({"missing": 0, "invalid": 0, "forbidden": 0})
        # Known label values start at 0, so a rate over them works before the first action.
        self._actions: Counter[tuple[str, str]] = Counter(
            {(a, o): 0 for a in ACTIONS for o in ("verified", "accepted", "refused")}
        )

    def auth_failure(self, reason: str) -> None:
        with self._lock:
            self._auth[reason] += 1

    def action(self, action: str, outcome: str) -> None:
        with self._lock:
            self._actions[(action, outcome)] += 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            auth = sorted(self._auth.items())
            actions = sorted(self._actions.items())
        refused = CounterMetricFamily("hotline_api_auth_failures", _AUTH_HELP, labels=["reason"])
        for reason, n in auth:
            refused.add_metric([reason], n)
        yield refused
        done = CounterMetricFamily(
            "hotline_api_actions", _ACTION_HELP, labels=["action", "outcome"]
        )
        for (action, outcome), n in actions:
            done.add_metric([action, outcome], n)
        yield done
