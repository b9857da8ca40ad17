"""Fixtures for the notifier's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.notifier.service import Notifier
from controller.notifier.store import NotifierStore
from tests.notifier.helpers import Clock, MakeNotifier, lab_config


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_notifier(tmp_path: Path, clock: Clock) -> MakeNotifier:
    def make(impl: dict[str, Any], /, **notifier: Any) -> Notifier:
        cfg = lab_config(**notifier)
        store = NotifierStore(tmp_path / "notifier.sqlite3")
        return Notifier(cfg, cfg.notifier, store, impl, clock=clock)

    return make
