"""The metric names the shipped alert rules and Grafana dashboard use, and a scrape's names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hotline.rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "hotline.json"

_NAME = re.compile(r"\b(?:hotline|process|python)_[a-z0-9_]+\b")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )")


def rule_exprs() -> list[str]:
    doc = yaml.safe_load(RULES.read_text())
    return [str(r["expr"]) for g in doc["groups"] for r in g["rules"]]


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def dashboard_exprs() -> list[str]:
    return list(_walk(json.loads(DASHBOARD.read_text())))


def names_in(exprs: list[str]) -> set[str]:
    return {name for e in exprs for name in _NAME.findall(e)}


def scraped_names(text: str) -> set[str]:
    """The sample names of a text exposition (``hotline_switches_total``, not the family)."""
    return {m.group(1) for line in text.splitlines() if (m := _SAMPLE.match(line))}
