"""Helpers for the Ansible deployment tests: a wheel of this checkout and a playbook runner.

The roles are applied for real with ``connection: local`` to throwaway directories; every path a
role writes to is a variable, so nothing outside pytest's temp directory changes. Ansible's own
scratch files go there too (``ANSIBLE_LOCAL_TEMP``/``ANSIBLE_REMOTE_TEMP``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
ROLES_DIR = ANSIBLE_DIR / "roles"
# What a wheel of the project is built from (mirrors [tool.setuptools.packages.find]).
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "controller", "modem", "health", "logsafe")
_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def tool(name: str) -> str | None:
    """The console script ``name`` next to this interpreter (a venv's bin/), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str
    recap: dict[str, dict[str, int]]

    def changed(self, host: str) -> int:
        return self.recap[host]["changed"]


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """``{host: {ok, changed, unreachable, failed}}`` from the PLAY RECAP block."""
    tail = output.rsplit("PLAY RECAP", 1)[-1]
    return {
        m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
        for m in _RECAP.finditer(tail)
    }


@dataclass(frozen=True)
class Ansible:
    """Runs ansible-playbook against this repository's roles with scratch files in ``workdir``."""

    workdir: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        scratch = self.workdir / ".ansible-tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        env.update(
            ANSIBLE_ROLES_PATH=str(ROLES_DIR),
            ANSIBLE_LOCAL_TEMP=str(scratch / "local"),
            ANSIBLE_REMOTE_TEMP=str(scratch / "remote"),
            ANSIBLE_HOME=str(scratch / "home"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_CONFIG=str(self.workdir / "ansible.cfg"),
            PYTHONWARNINGS="ignore",
            # ansible-lint calls `ansible` by name: the one installed beside this interpreter.
            PATH=os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
        )
        return env

    def local_inventory(self, hosts: Sequence[str] = ("localhost",)) -> Path:
        """An inventory whose hosts all run on this machine with this interpreter."""
        path = self.workdir / "inventory.ini"
        path.write_text(
            "".join(
                f"{h} ansible_connection=local ansible_python_interpreter={sys.executable}\n"
                for h in hosts
            )
        )
        return path

    def playbook(
        self,
        playbook: Path,
        inventory: Path,
        *extra: str,
        wrap: Sequence[str] = (),
        timeout: float = 240,
    ) -> PlaybookRun:
        """Run ``playbook``; ``wrap`` prefixes the command (e.g. ``unshare -n``)."""
        exe = tool("ansible-playbook")
        assert exe, "ansible-playbook is not installed (pip install -e '.[test]')"
        (self.workdir / "ansible.cfg").write_text("[defaults]\ninterpreter_python = auto_silent\n")
        proc = subprocess.run(
            [*wrap, exe, "-i", str(inventory), str(playbook), *extra],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = proc.stdout + proc.stderr
        return PlaybookRun(proc.returncode, output, parse_recap(proc.stdout))


def export_sources(dest: Path) -> None:
    """The committed tree (``git archive HEAD``), or the working tree outside a git checkout.

    The committed tree is what CI tests and what an operator deploys; other engineers' files that
    are half-written in a shared working tree stay out of the wheel.
    """
    git = shutil.which("git")
    if git and (REPO / ".git").exists():
        tree = subprocess.run(
            [git, "-C", str(REPO), "ls-tree", "--name-only", "HEAD"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        committed = [name for name in _WHEEL_SOURCES if name in tree]  # one not committed yet
        archive = subprocess.run(
            [git, "-C", str(REPO), "archive", "--format=tar", "HEAD", *committed],
            capture_output=True,
            timeout=60,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, timeout=60, check=True)
        return
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in _WHEEL_SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)


def build_wheel(base: Path, epoch: int = 315532800) -> Path:
    """A wheel of this checkout, built from an exported copy so the checkout stays clean.

    ``SOURCE_DATE_EPOCH`` makes it reproducible, like site.yml's build play; another ``epoch``
    gives the same code in different bytes (a rebuild under the same version number).
    """
    src = base / "src"
    src.mkdir()
    export_sources(src)
    out = base / "dist"
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch), PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("hotline_failover-*.whl")
    return wheel


def nft_in_netns() -> str:
    """``nft`` run in a network namespace of its own: a template's ``--check`` cannot touch the
    host's rules (and needs no privileges there)."""
    unshare, nft = shutil.which("unshare"), shutil.which("nft")
    if unshare is None or nft is None:
        import pytest

        pytest.skip("nft or unshare is not installed (Debian packages nftables, util-linux)")
    return f"{unshare} -n {nft}"


def local_hotline_vars(root: Path) -> dict[str, Any]:
    """The ``hotline`` role's variables for a throwaway target: every path under ``root``, no
    system user, packages or service touched, the virtualenv built with this interpreter."""
    return {
        "hotline_manage_user": False,
        "hotline_manage_packages": False,
        "hotline_manage_service": False,
        "hotline_user": "root",
        "hotline_group": "root",
        "hotline_python": sys.executable,
        "hotline_prefix": str(root / "opt/hotline"),
        "hotline_venv": str(root / "opt/hotline/venv"),
        "hotline_config_dir": str(root / "etc/hotline"),
        "hotline_config_file": str(root / "etc/hotline/config.yaml"),
        "hotline_state_dir": str(root / "var/lib/hotline"),
        "hotline_unit_dir": str(root / "etc/systemd/system"),
    }
