"""The API's own counters, appended to the controller's Prometheus exposition on ``/metrics``.

Kept tiny and dependency-free: two counter families, rendered in the text format 0.0.4.
"""

from __future__ import annotations

import threading
from collections import Counter

_AUTH_HELP = "Requests refused by the API's authentication or authorization, by reason."
_ACTION_HELP = (
    "Manual actions (failover, failback, pause, resume, handover) through the API, by outcome."
)


class ApiMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._auth: Counter[str] = Counter({"missing": 0, "invalid": 0, "forbidden": 0})
        self._actions: Counter[tuple[str, str]] = Counter()

    def auth_failure(self, reason: str) -> None:
        with self._lock:
            self._auth[reason] += 1

    def action(self, action: str, outcome: str) -> None:
        with self._lock:
            self._actions[(action, outcome)] += 1

    def render(self) -> str:
        with self._lock:
            auth = sorted(self._auth.items())
            actions = sorted(self._actions.items())
        lines = [
            f"# HELP hotline_api_auth_failures_total {_AUTH_HELP}",
            "# TYPE hotline_api_auth_failures_total counter",
        ]
        lines += [f'hotline_api_auth_failures_total{{reason="{r}"}} {n}' for r, n in auth]
        lines += [
            f"# HELP hotline_api_actions_total {_ACTION_HELP}",
            "# TYPE hotline_api_actions_total counter",
        ]
        lines += [
            f'hotline_api_actions_total{{action="{a}",outcome="{o}"}} {n}' for (a, o), n in actions
        ]
        return "\n".join(lines) + "\n"
