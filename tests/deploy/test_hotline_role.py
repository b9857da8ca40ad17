"""The hotline role applied for real to a throwaway target directory on this machine.

Every path the role writes (install prefix, /etc dir, state dir, unit dir) points into pytest's
temp directory; user creation, apt and systemd are switched off, so the host is not changed. The
program is installed from a wheel of this checkout into a real virtualenv, and the installed
``hotline config check`` must accept the config the role rendered.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import Ansible, PlaybookRun, build_wheel, local_hotline_vars, nft_in_netns
from tests.support.certs import TestCa

pytestmark = pytest.mark.slow

PIN = "7351"
TOKENS = {"noc": "viewer-token-5e1f0a9c33", "ops": "operator-token-9b2d41e7aa"}
SNMP_AUTH = "snmp-auth-key-4471c0ffee"
ZK_PASSWORD = "zk-role-password-5c1a9e"


def _vars(root: Path, wheel: Path, ca: TestCa) -> dict[str, Any]:
    """Inventory variables as an operator would write them, with every path under ``root``."""
    server = ca.issue("hl-test")
    return {
        **local_hotline_vars(root),
        "hotline_wheel": str(wheel),
        "hotline_api_tls_cert_content": server.cert.read_text(),
        "vault_hotline_api_tls_key": server.key.read_text(),
        "hotline_api_tls_key_content": "{{ vault_hotline_api_tls_key }}",
        "vault_hotline_zookeeper_password": ZK_PASSWORD,
        "hotline_zookeeper_auth_password": "{{ vault_hotline_zookeeper_password }}",
        "hotline_nft": nft_in_netns(),
        "hotline_firewall_file": str(root / "etc/nftables.d/hotline-api.nft"),
        "hotline_api_allowed_clients": ["127.0.0.1", "::1", "192.0.2.0/24", "2001:db8::/32"],
        # The secrets arrive as vault_* variables, referenced like group_vars/all/main.yml does.
        "vault_hotline_modem_pin": PIN,
        "vault_hotline_snmp_auth_key": SNMP_AUTH,
        "hotline_modem_pin": "{{ vault_hotline_modem_pin }}",
        "hotline_number": "+420601123456",
        "hotline_modem_url": "rfc2217://192.0.2.11:7000",
        "hotline_lines": {
            "primary": {"forward_to": "+420234000100", "depends_on": ["trunk-a", "pbx"]},
            "secondary": {"forward_to": "+420234000200", "depends_on": ["trunk-b", "pbx"]},
        },
        "hotline_components": {
            "trunk-a": {"kind": "trunk", "probes": [{"type": "sip", "uri": "sip:192.0.2.50:5060"}]},
            "trunk-b": {
                "kind": "trunk",
                "probes": [{"type": "tcp", "host": "192.0.2.51", "port": 5061}],
                "interval_s": 10,
                "timeout_s": 3,
            },
            "pbx-1": {
                "kind": "pbx_node",
                "probes": [
                    {
                        "type": "snmp",
                        "host": "192.0.2.60",
                        "version": "3",
                        "v3": {"user": "hotline", "auth_key": "{{ vault_hotline_snmp_auth_key }}"},
                        "checks": [{"oid": "1.3.6.1.2.1.25.1.1.0"}],
                    }
                ],
            },
        },
        "hotline_pbx_cluster": {"name": "pbx", "nodes": ["pbx-1"], "quorum": 1},
        "hotline_oncall": {
            "timezone": "Europe/Prague",
            "technicians": [{"name": "jana", "mobile": "+420777100001"}],
            # Times that YAML 1.1 would read as base-60 integers if written unquoted.
            "rotation": {"order": ["jana"], "anchor": "2026-01-05", "handover_time": "10:30"},
        },
        "hotline_schedule": {
            "timezone": "Europe/Prague",
            "business_hours": {"mon": ["07:00-19:00"]},
            "holidays": ["2026-12-24"],
        },
        "hotline_zookeeper_hosts": ["192.0.2.11:2181", "192.0.2.12:2181", "192.0.2.13:2181"],
        "hotline_zookeeper_path": "/hotline/test",
        "hotline_zookeeper_options": {"majority_view": True, "last_resort_after_s": None},
        "hotline_api_listen": "0.0.0.0:8443",
        "hotline_api_tokens": [
            {"name": name, "role": role, "token": TOKENS[name]}
            for name, role in (("noc", "viewer"), ("ops", "operator"))
        ],
    }


class Target:
    """A throwaway target: a root directory, its variables file and the play applying the role."""

    def __init__(self, ansible: Ansible, wheel: Path) -> None:
        self.ansible = ansible
        self.root = ansible.workdir / "target"
        (self.root / "etc/systemd/system").mkdir(parents=True)
        self.ca = TestCa(ansible.workdir / "pki")
        self.vars = _vars(self.root, wheel, self.ca)
        self.vars_file = ansible.workdir / "vars.yml"
        self.playbook = ansible.workdir / "apply-hotline.yml"
        self.playbook.write_text(
            yaml.safe_dump(
                [
                    {
                        "name": "Apply the hotline role",
                        "hosts": "localhost",
                        "gather_facts": False,
                        "vars_files": [str(self.vars_file)],
                        "roles": ["hotline"],
                    }
                ],
                sort_keys=False,
            )
        )
        self.inventory = ansible.local_inventory()
        self.write_vars()

    def write_vars(self) -> None:
        self.vars_file.write_text(yaml.safe_dump(self.vars, sort_keys=False))

    def apply(self) -> PlaybookRun:
        return self.ansible.playbook(self.playbook, self.inventory)

    @property
    def venv(self) -> Path:
        return Path(self.vars["hotline_venv"])

    @property
    def config(self) -> Path:
        return Path(self.vars["hotline_config_file"])

    @property
    def unit(self) -> Path:
        return self.root / "etc/systemd/system/hotline.service"


@dataclass(frozen=True)
class Applied:
    target: Target
    first: PlaybookRun


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory, hotline_wheel: Path) -> Applied:
    """The role applied once per module (a virtualenv install is the slow part)."""
    target = Target(Ansible(tmp_path_factory.mktemp("hotline-role")), hotline_wheel)
    return Applied(target, target.apply())


def _assert_no_secret(output: str) -> None:
    for secret in (PIN, SNMP_AUTH, ZK_PASSWORD, "PRIVATE KEY", *TOKENS.values()):
        assert secret not in output


def test_first_run_installs_and_checks(applied: Applied) -> None:
    first = applied.first
    assert first.returncode == 0, first.output
    assert first.changed("localhost") > 0
    assert first.recap["localhost"]["failed"] == 0
    _assert_no_secret(first.output)
    # The handler chain ran the installed program's check before a (here disabled) restart.
    assert "RUNNING HANDLER [hotline : Check the installed config before a restart]" in first.output


def test_installed_program_accepts_the_rendered_config(applied: Applied) -> None:
    target = applied.target
    check = subprocess.run(
        [str(target.venv / "bin/hotline"), "config", "check", str(target.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{target.config}: OK" in check.stdout
    zk = "coordination  zookeeper 192.0.2.11:2181,192.0.2.12:2181,192.0.2.13:2181/hotline/test"
    assert zk in check.stdout
    _assert_no_secret(check.stdout + check.stderr)

    rendered = yaml.safe_load(target.config.read_text())
    assert rendered["hotline"]["modem"]["pin"] == PIN
    zk = rendered["coordination"]["zookeeper"]
    assert (zk["majority_view"], zk["last_resort_after_s"]) == (True, None)
    assert rendered["oncall"]["rotation"]["handover_time"] == "10:30"
    assert rendered["components"]["pbx-1"]["probes"][0]["v3"]["auth_key"] == SNMP_AUTH
    assert [t["token"] for t in rendered["api"]["tokens"]] == list(TOKENS.values())
    assert target.config.stat().st_mode & 0o777 == 0o640
    assert Path(target.vars["hotline_state_dir"]).is_dir()


def test_tls_zookeeper_auth_and_firewall_are_set_up(applied: Applied) -> None:
    target = applied.target
    rendered = yaml.safe_load(target.config.read_text())
    etc = target.root / "etc/hotline"
    assert rendered["api"]["listen"] == "0.0.0.0:8443"
    assert rendered["api"]["tls"] == {"cert": f"{etc}/tls/api.pem", "key": f"{etc}/tls/api.key"}
    assert "allow_plain_http" not in rendered["api"]
    assert (etc / "tls/api.pem").read_text() == target.vars["hotline_api_tls_cert_content"]
    key = etc / "tls/api.key"
    assert key.read_text() == target.vars["vault_hotline_api_tls_key"]
    assert key.stat().st_mode & 0o777 == 0o640
    auth = rendered["coordination"]["zookeeper"]["auth"]
    assert auth == {
        "username": "hotline",
        "password_file": f"{etc}/zookeeper.password",
        "read_ids": [],
    }
    secret = etc / "zookeeper.password"
    assert secret.read_text() == ZK_PASSWORD + "\n" and secret.stat().st_mode & 0o777 == 0o640
    assert ZK_PASSWORD not in target.config.read_text()

    rules = Path(target.vars["hotline_firewall_file"]).read_text()
    assert "elements = { 127.0.0.1, 192.0.2.0/24 }" in rules
    assert "elements = { ::1, 2001:db8::/32 }" in rules
    assert "tcp dport 8443 counter reject with tcp reset" in rules
    unit = (target.root / "etc/systemd/system/hotline-api-firewall.service").read_text()
    nft, rules_file = target.vars["hotline_nft"], target.vars["hotline_firewall_file"]
    assert f"ExecStart={nft} --file {rules_file}" in unit


def test_plain_http_off_loopback_stops_the_play(applied: Applied) -> None:
    target = applied.target
    good = target.config.read_bytes()
    saved = copy.deepcopy(target.vars)
    target.vars["hotline_api_tls"] = False
    target.write_vars()
    try:
        refused = target.apply()
    finally:
        target.vars.clear()
        target.vars.update(saved)
        target.write_vars()
    assert refused.returncode != 0
    assert "is not loopback: set hotline_api_tls: true" in refused.output
    assert target.config.read_bytes() == good


def test_second_run_changes_nothing(applied: Applied) -> None:
    second = applied.target.apply()
    assert second.returncode == 0, second.output
    assert second.changed("localhost") == 0, second.output
    assert second.recap["localhost"]["failed"] == 0


def test_unit_is_hardened_and_verifies(applied: Applied) -> None:
    target = applied.target
    unit = target.unit.read_text()
    venv = target.venv
    for line in (
        f"ExecStartPre={venv}/bin/hotline config check {target.config}",
        f"ExecStart={venv}/bin/hotline run --config {target.config}",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={target.vars['hotline_state_dir']}",
        "SupplementaryGroups=dialout",
        "CapabilityBoundingSet=",
    ):
        assert line in unit.splitlines()
    assert sum(line.startswith("ReadWritePaths=") for line in unit.splitlines()) == 1

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    proc = subprocess.run(
        [analyze, "verify", str(target.unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 on some problems (unknown keys, bad values): any remark is a failure too.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""


def test_a_bad_config_never_replaces_the_good_one(applied: Applied) -> None:
    target = applied.target
    good = target.config.read_bytes()
    saved = copy.deepcopy(target.vars)
    target.vars["hotline_lines"]["primary"]["forward_to"] = "+420;+CFUN=0"
    target.write_vars()
    try:
        bad = target.apply()
    finally:
        target.vars.clear()
        target.vars.update(saved)
        target.write_vars()

    assert bad.returncode != 0
    assert bad.recap["localhost"]["failed"] == 1
    assert "lines.primary.forward_to: not an E.164 number" in bad.output
    assert target.config.read_bytes() == good
    _assert_no_secret(bad.output)


def test_a_rebuilt_wheel_is_reinstalled_and_restarts_once(
    applied: Applied, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Same version, new bytes (the checkout changed): reinstall, check, restart; then quiet."""
    target = applied.target
    rebuilt = build_wheel(tmp_path_factory.mktemp("rebuilt"), epoch=946684800)
    installed = target.venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    cli = next(installed.glob("site-packages/controller/cli/main.py"))
    before = cli.stat().st_mtime_ns
    target.vars["hotline_wheel"] = str(rebuilt)
    target.write_vars()

    upgrade = target.apply()
    assert upgrade.returncode == 0, upgrade.output
    assert upgrade.changed("localhost") >= 2  # the wheel copied, the package reinstalled
    assert "RUNNING HANDLER [hotline : Check the installed config before a restart]" in (
        upgrade.output
    )
    assert cli.stat().st_mtime_ns != before

    quiet = target.apply()
    assert quiet.returncode == 0, quiet.output
    assert quiet.changed("localhost") == 0, quiet.output
