"""site.yml end to end: one inventory, one playbook run, on a one-node cluster in a temp directory.

The node is in every group (zookeeper, modem_gateway, hotline); every path points into the temp
directory and apt/udev/systemd are switched off, so the host is not changed (the firewall
templates' ``nft --check`` runs in a network namespace of its own).
This covers what the per-role tests do not: the build play makes a hash-locked wheelhouse and the
hotline play installs from it with no package index (pip's own configuration ignored); TLS, the
ZooKeeper credentials and the three firewalls are applied; a second run changes nothing. Then a
fresh virtualenv installs from the same wheelhouse inside a network namespace with no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import (
    ANSIBLE_DIR,
    REPO,
    Ansible,
    PlaybookRun,
    export_sources,
    local_hotline_vars,
    nft_in_netns,
)
from tests.support.certs import TestCa

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # two site runs and a wheelhouse

NODE = "node-1"
ZK_PASSWORD = "site-zk-password-0b7e"


def _node_vars(root: Path, ca: TestCa) -> dict[str, Any]:
    """The node's inventory variables: the example's settings, paths moved under ``root``."""
    server = ca.issue(NODE)
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,  # already root; there may be no sudo
        # zookeeper
        "zookeeper_manage_packages": False,
        "zookeeper_manage_service": False,
        "zookeeper_user": "root",
        "zookeeper_group": "root",
        "zookeeper_peer_address": "127.0.0.1",
        "zookeeper_conf_dir": str(root / "etc/zookeeper/hotline"),
        "zookeeper_data_dir": str(root / "var/lib/zookeeper/data"),
        "zookeeper_data_log_dir": str(root / "var/lib/zookeeper/txlog"),
        "zookeeper_unit_dir": str(root / "etc/systemd/system"),
        # modem_gateway
        "modem_gateway_manage_packages": False,
        "modem_gateway_manage_service": False,
        "modem_gateway_usb_vendor": "12d1",
        "modem_gateway_usb_product": "1506",
        "modem_gateway_udev_rules_dir": str(root / "etc/udev/rules.d"),
        "modem_gateway_ser2net_config": str(root / "etc/ser2net.yaml"),
        "modem_gateway_firewall_file": str(root / "etc/nftables.d/hotline-modem-gateway.nft"),
        "modem_gateway_firewall_unit_dir": str(root / "etc/systemd/system"),
        # the template's `nft --check` runs in a network namespace of its own
        "modem_gateway_nft": nft_in_netns(),
        "zookeeper_nft": nft_in_netns(),
        "zookeeper_firewall_file": str(root / "etc/nftables.d/hotline-zookeeper.nft"),
        "hotline_nft": nft_in_netns(),
        "hotline_firewall_file": str(root / "etc/nftables.d/hotline-api.nft"),
        "hotline_api_listen": "0.0.0.0:8443",
        "hotline_api_tls_cert_content": server.cert.read_text(),
        "hotline_api_tls_key_content": "{{ vault_hotline_api_tls_key }}",
        "vault_hotline_api_tls_key": server.key.read_text(),
        "hotline_zookeeper_auth_password": "{{ vault_hotline_zookeeper_password }}",
        "vault_hotline_zookeeper_password": ZK_PASSWORD,
        # hotline: no hotline_wheel, it comes from the build play
        **local_hotline_vars(root),
        "hotline_number": "+420601123456",
        "hotline_modem_pin": "{{ vault_hotline_modem_pin }}",
        "vault_hotline_modem_pin": "2468",
        "hotline_lines": {
            "primary": {"forward_to": "+420234000100", "depends_on": ["trunk-a", "pbx"]},
            "secondary": {"forward_to": "+420234000200", "depends_on": ["trunk-a", "pbx"]},
        },
        "hotline_components": {
            "trunk-a": {"kind": "trunk", "probes": [{"type": "sip", "uri": "sip:192.0.2.50"}]},
            "pbx-1": {"kind": "pbx_node", "probes": [{"type": "sip", "uri": "sip:192.0.2.60"}]},
        },
        "hotline_pbx_cluster": {"name": "pbx", "nodes": ["pbx-1"], "quorum": 1},
        "hotline_oncall": {"technicians": [{"name": "jana", "mobile": "+420777100001"}]},
        "hotline_zookeeper_hosts": ["127.0.0.1:2181"],
    }


class Site:
    def __init__(self, ansible: Ansible) -> None:
        self.ansible = ansible
        self.root = ansible.workdir / "node"
        for sub in ("etc/systemd/system", "etc/udev/rules.d"):
            (self.root / sub).mkdir(parents=True)
        self.checkout = ansible.workdir / "checkout"
        self.checkout.mkdir()
        export_sources(self.checkout)
        self.dist = ansible.workdir / "dist"
        groups = {g: {"hosts": {NODE: None}} for g in ("zookeeper", "modem_gateway", "hotline")}
        node = _node_vars(self.root, TestCa(ansible.workdir / "pki"))
        inventory = {"all": {"hosts": {NODE: node}, "children": groups}}
        self.inventory = ansible.workdir / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))

    def run(self) -> PlaybookRun:
        return self.ansible.playbook(
            ANSIBLE_DIR / "site.yml",
            self.inventory,
            "-e",
            f"hotline_build_checkout={self.checkout} hotline_build_dist_dir={self.dist}",
            "-e",
            f"hotline_build_python={sys.executable}",
            timeout=420,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    for name in ("nft", "unshare"):
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed")
    return Site(Ansible(tmp_path_factory.mktemp("site")))


def test_one_run_sets_up_the_node_and_a_second_changes_nothing(site: Site) -> None:
    first = site.run()
    assert first.returncode == 0, first.output
    assert first.recap[NODE]["failed"] == 0
    assert first.changed(NODE) > 0
    assert "2468" not in first.output  # the SIM PIN

    # the build play made a hash-locked wheelhouse; the node installed exactly that from it
    (wheel,) = site.dist.glob("hotline_failover-*.whl")
    (house,) = site.dist.glob("wheelhouse-*")
    locked = _lock(house)
    assert len(locked) == len(list(house.glob("*.whl"))) >= 10
    assert {"hotline-failover", "kazoo", "pydantic", "uvicorn", "cryptography"} <= set(locked)
    on_node = site.root / "opt/hotline/wheelhouses" / house.name
    assert (on_node / wheel.name).read_bytes() == wheel.read_bytes()
    assert (site.root / "opt/hotline/wheelhouse.active").read_text() == f"{house.name}\n"
    installed = _freeze(site.root / "opt/hotline/venv")
    assert {name: installed.get(name) for name in locked} == locked

    # TLS, ZooKeeper credentials and the three allow-lists
    config = yaml.safe_load((site.root / "etc/hotline/config.yaml").read_text())
    assert config["api"]["tls"]["cert"] == str(site.root / "etc/hotline/tls/api.pem")
    assert config["coordination"]["zookeeper"]["auth"]["username"] == "hotline"
    assert (site.root / "etc/hotline/zookeeper.password").read_text() == f"{ZK_PASSWORD}\n"
    for table in ("hotline-api", "hotline-zookeeper", "hotline-modem-gateway"):
        assert (site.root / f"etc/nftables.d/{table}.nft").exists(), table
    for secret in (ZK_PASSWORD, "PRIVATE KEY"):
        assert secret not in first.output

    assert (site.root / "etc/zookeeper/hotline/zoo.cfg").exists()
    assert (site.root / "etc/ser2net.yaml").exists()
    check = subprocess.run(
        [
            str(site.root / "opt/hotline/venv/bin/hotline"),
            "config",
            "check",
            str(site.root / "etc/hotline/config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"node          {NODE}" in check.stdout

    # an unchanged checkout builds the same wheel byte for byte: nothing to copy, nothing restarts
    second = site.run()
    assert second.returncode == 0, second.output
    assert second.changed(NODE) == 0, second.output
    assert second.changed("localhost") == 0, second.output


def _lock(house: Path) -> dict[str, str]:
    """``{name: version}`` of requirements.lock; every line must carry a sha256."""
    pins = {}
    for line in (house / "requirements.lock").read_text().splitlines():
        pin, _, digest = line.partition(" --hash=sha256:")
        assert len(digest) == 64, line
        name, _, version = pin.partition("==")
        pins[name] = version
    return pins


def _freeze(venv: Path) -> dict[str, str]:
    """``{name: version}`` of what the virtualenv holds (``pip list``: a wheel installed from a
    file path has no ``==`` line in ``pip freeze``)."""
    out = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    ).stdout
    return {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(out)}


def test_a_fresh_venv_installs_from_the_wheelhouse_without_any_network(
    site: Site, tmp_path: Path
) -> None:
    """The wheelhouse is all a node needs: no index, no pip configuration, no network at all."""
    houses = list(site.dist.glob("wheelhouse-*"))
    if not houses:
        run = site.run()
        assert run.returncode == 0, run.output
        houses = list(site.dist.glob("wheelhouse-*"))
    (house,) = houses
    unshare = shutil.which("unshare")
    assert unshare is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    venv = tmp_path / "venv"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin/pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(house),
            "--require-hashes",
            "-r",
            str(house / "requirements.lock"),
        ],
        [str(venv / "bin/hotline"), "config", "check", str(REPO / "examples/lab.yaml")],
    ]
    for argv in steps:
        done = subprocess.run(
            [unshare, "-n", *argv], capture_output=True, text=True, timeout=300, env=env
        )
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    installed = _freeze(venv)
    assert {name: installed.get(name) for name in _lock(house)} == _lock(house)
