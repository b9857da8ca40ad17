"""Prometheus metrics of a node, through ``prometheus_client``.

Each part of the node brings a collector that reads its cached view when Prometheus scrapes
(nothing is counted twice, nothing is kept in step by hand): ``StatusCollector`` (what
``/v1/status`` reports), ``ControllerCollector`` (the loop's counters, probes, coordination, the
modem), ``NotifierCollector`` (outbox, deliveries, incidents) and the API's own counters
(``controller.api.metrics``). ``registry.new_registry`` puts them in one registry per app with
the build and process metrics; ``registry.exposition`` renders it (text format 0.0.4).
"""

from controller.metrics.registry import PROMETHEUS_TEXT, exposition, new_registry, render_text

__all__ = ["PROMETHEUS_TEXT", "exposition", "new_registry", "render_text"]
