"""Real ZooKeeper for the HA tests: Debian's server on loopback, tickTime 200 ms, temp dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.zk_lab import ZkEnsemble, available


def _ensemble(base: Path, size: int) -> Iterator[ZkEnsemble]:
    if not available():
        pytest.skip("ZooKeeper (Debian package zookeeper) or java is not installed")
    ens = ZkEnsemble(base, size, tick_ms=200)
    try:
        ens.start(timeout=60)
        yield ens
    finally:
        ens.stop()


@pytest.fixture(scope="module")
def zk1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZkEnsemble]:
    """One standalone server, shared by a module's non-destructive tests."""
    yield from _ensemble(tmp_path_factory.mktemp("zk1"), 1)


@pytest.fixture
def zk3(tmp_path: Path) -> Iterator[ZkEnsemble]:
    """A fresh 3-server ensemble per test (the tests kill and pause its servers)."""
    yield from _ensemble(tmp_path / "zk", 3)


_counter = iter(range(1_000_000))


@pytest.fixture
def zk_path() -> str:
    """A cluster path no other test in the module uses."""
    return f"/hotline/t{next(_counter)}"
