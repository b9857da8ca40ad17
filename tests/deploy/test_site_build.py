"""site.yml's first play builds the wheel the hotline hosts get, reproducibly.

An unchanged checkout must give the same bytes again: the hosts then see no change, nothing is
reinstalled and nothing restarts (the hotline role reinstalls when the wheel's bytes change).
The build runs on an exported copy of the checkout so this test leaves the checkout clean.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.support import ANSIBLE_DIR, Ansible, export_sources

pytestmark = pytest.mark.slow


def _build(ansible: Ansible, checkout: Path, dist: Path) -> Path:
    run = ansible.playbook(
        ANSIBLE_DIR / "site.yml",
        ansible.local_inventory(),  # localhost only: the cluster's plays match no host
        "-e",
        f"hotline_build_checkout={checkout} hotline_build_dist_dir={dist}",
        "-e",
        f"hotline_build_python={sys.executable}",
    )
    assert run.returncode == 0, run.output
    assert run.recap["localhost"]["failed"] == 0
    (wheel,) = dist.glob("hotline_failover-*.whl")
    return wheel


def test_build_play_makes_a_reproducible_wheel(ansible: Ansible) -> None:
    checkout = ansible.workdir / "checkout"
    checkout.mkdir()
    export_sources(checkout)
    dist = ansible.workdir / "dist"

    first = _build(ansible, checkout, dist)
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    with zipfile.ZipFile(first) as wheel:
        names = wheel.namelist()
    assert "controller/cli.py" in names
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)

    first.touch()  # a rebuild must not depend on file times
    again = _build(ansible, checkout, dist)
    assert again == first
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
