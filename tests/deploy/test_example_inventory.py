"""The example inventory is complete and renders configs the controller accepts.

group_vars/all/main.yml must mention every role variable (it is the operator's reference), and
its values, with the placeholders of vault.yml.example, must give each node a config file that
``controller.config.load_config`` accepts: what an operator copies must work as copied.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from controller.config import load_config
from tests.deploy.support import ANSIBLE_DIR, ROLES_DIR, Ansible

EXAMPLE = ANSIBLE_DIR / "inventory" / "example"
GROUP_VARS = EXAMPLE / "group_vars" / "all" / "main.yml"
VAULT_EXAMPLE = EXAMPLE / "group_vars" / "all" / "vault.yml.example"


@pytest.mark.parametrize("role", ["hotline", "zookeeper", "modem_gateway"])
def test_group_vars_document_every_role_variable(role: str) -> None:
    defaults = yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text())
    documented = GROUP_VARS.read_text()
    missing = [name for name in defaults if not re.search(rf"\b{name}\b", documented)]
    assert missing == []


def test_vault_example_lists_every_vault_variable() -> None:
    referenced = set(re.findall(r"\bvault_[a-z0-9_]+", GROUP_VARS.read_text()))
    example = yaml.safe_load(VAULT_EXAMPLE.read_text())
    assert referenced <= set(example), referenced - set(example)
    # no secret literal sits in the plain group_vars: every secret-looking key takes a vault_ var
    for key in ("token", "pin", "auth_key", "priv_key", "password", "auth_token"):
        for m in re.finditer(rf"\b{key}: *\"?([^\"\n]*)", GROUP_VARS.read_text()):
            assert m.group(1).startswith("{{ vault_"), m.group(0)


def test_example_inventory_renders_valid_configs(ansible: Ansible) -> None:
    out = ansible.workdir / "rendered"
    out.mkdir()
    playbook = ansible.workdir / "render.yml"
    template = ROLES_DIR / "hotline" / "templates" / "config.yaml.j2"
    task = {
        "ansible.builtin.template": {
            "src": str(template),
            "dest": f"{out}/{{{{ inventory_hostname }}}}.yaml",
            "mode": "0600",
        }
    }
    play = {
        "name": "Render the example configs",
        "hosts": "hotline",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(VAULT_EXAMPLE)],
        "tasks": [{"name": "Render", **task}],
    }
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    run = ansible.playbook(
        playbook,
        EXAMPLE / "hosts.yml",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    )
    assert run.returncode == 0, run.output

    configs = {host: load_config(out / f"{host}.yaml") for host in ("hl-1", "hl-2", "hl-3")}
    # the modem host opens the device itself, the others go through ser2net
    assert configs["hl-1"].hotline.modem.url == "/dev/hotline-modem"
    assert configs["hl-2"].hotline.modem.url == "rfc2217://192.0.2.11:7000"
    assert configs["hl-3"].node.name == "hl-3"
    zk = configs["hl-2"].coordination.zookeeper
    assert zk is not None
    assert zk.hosts == ("192.0.2.11:2181", "192.0.2.12:2181", "192.0.2.13:2181")
    assert (zk.cluster_size, zk.last_resort_after_s) == (3, 120)
    pin = configs["hl-1"].hotline.modem.pin
    assert pin is not None and pin.get_secret_value() == "0000"


def test_site_playbook_targets_the_right_hosts(ansible: Ansible) -> None:
    run = ansible.playbook(ANSIBLE_DIR / "site.yml", EXAMPLE / "hosts.yml", "--list-hosts")
    assert run.returncode == 0, run.output
    pattern = r"play #\d+ \((\S+)\):.*?hosts \(\d+\):\n((?:[ \t]+\S+\n)+)"
    plays = dict(re.findall(pattern, run.output, flags=re.S))
    hosts = {group: sorted(block.split()) for group, block in plays.items()}
    assert hosts == {
        "localhost": ["localhost"],
        "zookeeper": ["hl-1", "hl-2", "hl-3"],
        "modem_gateway": ["hl-1"],
        "hotline": ["hl-1", "hl-2", "hl-3"],
    }


def test_examples_are_not_loaded_as_variables() -> None:
    # Ansible reads group_vars files ending in .yml/.yaml/.json or without an extension only:
    # the example vault must keep its .example suffix so placeholders never become real values.
    assert VAULT_EXAMPLE.suffix == ".example"
    assert not (EXAMPLE / "group_vars" / "all" / "vault.yml").exists()
    assert Path(VAULT_EXAMPLE).read_text().lstrip().startswith("---")
