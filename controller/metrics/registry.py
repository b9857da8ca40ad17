"""One ``CollectorRegistry`` per app (never the process-wide default, so several apps in one
process, as in the tests, do not collide), with the build and process metrics beside the node's."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""The text format ``generate_latest`` writes (Prometheus' classic exposition format)."""


@functools.cache
def build_version() -> str:
    """The installed distribution's version ("unknown" when run from a bare checkout)."""
    try:
        return metadata.version("hotline-failover")
    except metadata.PackageNotFoundError:
        return "unknown"


class BuildInfo:
    """``hotline_build_info{version=...} 1``: join it on ``instance`` to see what runs where."""

    def __init__(self, version: str | None = None) -> None:
        self.version = version or build_version()

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("hotline_build", "The running hotline-failover build.")
        info.add_metric([], {"version": self.version})
        yield info


def new_registry(collectors: Iterable[Collector], *, process: bool = True) -> CollectorRegistry:
    """A fresh registry with ``collectors``, the build info and (``process``) the process,
    platform and garbage-collector metrics of this Python process."""
    registry = CollectorRegistry()
    registry.register(BuildInfo())
    for collector in collectors:
        registry.register(collector)
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the text format 0.0.4 (``PROMETHEUS_TEXT``), collected now."""
    return generate_latest(registry)


def render_text(*collectors: Collector) -> str:
    """The text of ``collectors`` and the build info (no process metrics): for tests and tools."""
    return exposition(new_registry(collectors, process=False)).decode()
