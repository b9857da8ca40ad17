"""The modem_gateway role: udev rule, ser2net over RFC 2217, and the allow-list that guards it.

The role is applied for real with every path in a temp directory (apt, udev and systemd off).
The rendered firewall and ser2net config are then exercised in a network namespace this test
creates (``unshare -n``, loopback only): an allowed client talks AT through ser2net to a pty
standing in for the modem, a client from an address not on the list is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import Ansible, PlaybookRun

pytestmark = pytest.mark.slow

PORT = 7000  # the namespace has its own port space: no clash with anything on the host
SCENARIO = Path(__file__).with_name("gateway_scenario.py")


class Gateway:
    def __init__(self, ansible: Ansible) -> None:
        self.ansible = ansible
        self.root = ansible.workdir / "target"
        self.root.mkdir()
        self.device_link = ansible.workdir / "modem-link"
        self.vars: dict[str, Any] = {
            "modem_gateway_manage_packages": False,
            "modem_gateway_manage_service": False,
            "modem_gateway_usb_vendor": "12D1",
            "modem_gateway_usb_product": "1506",
            "modem_gateway_usb_serial": "867588012345678",
            "modem_gateway_usb_interface": "02",
            "modem_gateway_device_path": str(self.device_link),
            "modem_gateway_udev_rules_dir": str(self.root / "etc/udev/rules.d"),
            "modem_gateway_ser2net_config": str(self.root / "etc/ser2net.yaml"),
            "modem_gateway_ser2net_address": "127.0.0.1",
            "modem_gateway_ser2net_port": PORT,
            "modem_gateway_allowed_clients": ["127.0.0.1", "::1"],
            "modem_gateway_firewall_file": str(self.root / "etc/nftables.d/hotline-modem.nft"),
            "modem_gateway_firewall_unit_dir": str(self.root / "etc/systemd/system"),
        }
        for key in ("modem_gateway_udev_rules_dir", "modem_gateway_firewall_unit_dir"):
            Path(self.vars[key]).mkdir(parents=True)
        self.vars_file = ansible.workdir / "vars.yml"
        self.vars_file.write_text(yaml.safe_dump(self.vars))
        self.playbook = ansible.workdir / "apply-gateway.yml"
        play = {"name": "Modem gateway", "hosts": "localhost", "gather_facts": False}
        play |= {"vars_files": [str(self.vars_file)], "roles": ["modem_gateway"]}
        self.playbook.write_text(yaml.safe_dump([play], sort_keys=False))
        self.inventory = ansible.local_inventory()

    def apply(self) -> PlaybookRun:
        # In a network namespace too: the template's `nft --check` never sees the host's rules.
        return self.ansible.playbook(self.playbook, self.inventory, wrap=["unshare", "-n"])

    def path(self, key: str) -> Path:
        return Path(self.vars[key])


def _tools_missing() -> str | None:
    for name in ("nft", "ser2net", "unshare", "ip", "ss"):
        if shutil.which(name) is None:
            return name
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10, check=False)
    return None if probe.returncode == 0 else "unshare -n (no CAP_SYS_ADMIN)"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    missing = _tools_missing()
    if missing:
        pytest.skip(f"{missing} is not available")
    return Gateway(Ansible(tmp_path_factory.mktemp("modem-gateway")))


def test_apply_and_rerun(gateway: Gateway) -> None:
    first = gateway.apply()
    assert first.returncode == 0, first.output
    assert first.changed("localhost") > 0
    second = gateway.apply()
    assert second.returncode == 0, second.output
    assert second.changed("localhost") == 0, second.output


def test_udev_rule_names_the_modem_by_usb_identity(gateway: Gateway) -> None:
    rules = gateway.path("modem_gateway_udev_rules_dir") / "99-hotline-modem.rules"
    if not rules.exists():
        assert gateway.apply().returncode == 0
    rule = [ln for ln in rules.read_text().splitlines() if "SYMLINK" in ln]
    assert len(rule) == 1
    for clause in (
        'SUBSYSTEM=="tty"',
        'ENV{ID_VENDOR_ID}=="12d1"',  # udev reports lower-case hex
        'ENV{ID_MODEL_ID}=="1506"',
        'ENV{ID_SERIAL_SHORT}=="867588012345678"',
        'ENV{ID_USB_INTERFACE_NUM}=="02"',
        'SYMLINK+="hotline-modem"',
        'GROUP="dialout"',
        'MODE="0660"',
    ):
        assert clause in rule[0].split(", ")


def test_only_allowed_clients_reach_the_modem(gateway: Gateway) -> None:
    if not gateway.path("modem_gateway_ser2net_config").exists():
        assert gateway.apply().returncode == 0
    gateway.device_link.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            "unshare",
            "-n",
            "-m",
            sys.executable,
            str(SCENARIO),
            str(gateway.path("modem_gateway_firewall_file")),
            str(gateway.path("modem_gateway_ser2net_config")),
            str(gateway.device_link),
            str(PORT),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "OK" in result["allowed"], result
    assert result["other"] == "refused", result
    assert result["ruleset"].count("table inet hotline_modem_gateway") == 1, result["ruleset"]
