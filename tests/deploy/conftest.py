"""Fixtures for the Ansible deployment tests (helpers in tests/deploy/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.support import Ansible, build_wheel


@pytest.fixture
def ansible(tmp_path: Path) -> Ansible:
    return Ansible(tmp_path)


@pytest.fixture(scope="session")
def hotline_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel of this checkout per test session."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
