"""site.yml end to end: one inventory, one playbook run, on a one-node cluster in a temp directory.

The node is in every group (zookeeper, modem_gateway, hotline); every path points into the temp
directory and apt/udev/systemd are switched off, so the host is not changed (the firewall
template's ``nft --check`` runs in a network namespace of its own).
This covers what the per-role tests do not: the build play hands its wheel to the hotline play,
and a second run of the whole playbook changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import (
    ANSIBLE_DIR,
    Ansible,
    PlaybookRun,
    export_sources,
    local_hotline_vars,
)

pytestmark = pytest.mark.slow

NODE = "node-1"


def _node_vars(root: Path) -> dict[str, Any]:
    """The node's inventory variables: the example's settings, paths moved under ``root``."""
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
        "modem_gateway_nft": f"{shutil.which('unshare')} -n {shutil.which('nft')}",
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
        inventory = {"all": {"hosts": {NODE: _node_vars(self.root)}, "children": groups}}
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

    # every role left its files; the hotline got the wheel the build play made
    (wheel,) = site.dist.glob("hotline_failover-*.whl")
    assert (site.root / "opt/hotline/dist" / wheel.name).read_bytes() == wheel.read_bytes()
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
