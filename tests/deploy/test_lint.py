"""deploy/ansible passes ansible-lint's production profile and ansible-playbook's syntax check.

ansible-lint runs offline (only PyPI and Debian are reachable, and the roles use ansible.builtin
only). A seeded defect in a copy of the tree proves the lint run is not vacuous.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.support import ANSIBLE_DIR, Ansible, tool


def _lint(directory: Path, ansible: Ansible) -> subprocess.CompletedProcess[str]:
    exe = tool("ansible-lint")
    assert exe, "ansible-lint is not installed (pip install -e '.[test]')"
    env = ansible.env()
    env.pop("ANSIBLE_CONFIG")  # lint reads deploy/ansible/ansible.cfg like an operator would
    return subprocess.run(
        [exe, "--offline", "--profile", "production", "--nocolor"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _copy_tree(dest: Path) -> Path:
    target = dest / "ansible"
    shutil.copytree(ANSIBLE_DIR, target, ignore=shutil.ignore_patterns("dist", ".ansible"))
    return target


def test_ansible_lint_production_profile_passes(ansible: Ansible, tmp_path: Path) -> None:
    proc = _lint(_copy_tree(tmp_path), ansible)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_ansible_lint_catches_a_seeded_defect(ansible: Ansible, tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    tasks = tree / "roles" / "hotline" / "tasks" / "main.yml"
    # A bare command without changed_when, no FQCN and no name: three production-profile rules.
    tasks.write_text(tasks.read_text() + "\n- command: /bin/true\n")
    proc = _lint(tree, ansible)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "fqcn" in out
    assert "no-changed-when" in out


@pytest.mark.parametrize("playbook", ["site.yml"])
def test_syntax_check(ansible: Ansible, playbook: str) -> None:
    exe = tool("ansible-playbook")
    assert exe
    env = ansible.env()
    env.pop("ANSIBLE_CONFIG")
    proc = subprocess.run(
        [exe, "--syntax-check", "-i", "inventory/example/hosts.yml", playbook],
        cwd=ANSIBLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: {playbook}" in proc.stdout
