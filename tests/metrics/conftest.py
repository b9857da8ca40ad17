"""The ``lab`` fixture: a real daemon on ZooKeeper with the modem emulator (``live.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.daemon_lab import DaemonLab
from tests.metrics.live import live_lab
from tests.support.zk_lab import ZkEnsemble


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[DaemonLab, ZkEnsemble]]:
    with live_lab(tmp_path) as both:
        yield both
