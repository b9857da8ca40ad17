"""The zookeeper role renders a working three-member ensemble.

The role is applied for real to three inventory hosts that all live on this machine (connection
local, each with its own directories and loopback ports; apt and systemd switched off). Then the
three members are started with the exact command line of the unit the role wrote, and must elect
one leader and two followers.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_digest_acl, make_digest_acl_credential

from tests.deploy.support import Ansible, nft_in_netns
from tests.support.zk_lab import four_letter, free_ports

pytestmark = pytest.mark.slow

MEMBERS = ("zk-a", "zk-b", "zk-c")
SUPER = ("super", "role-super-secret-77d2")


def _mode(port: int) -> str | None:
    reply = four_letter(port, "srvr", timeout=2.0)
    for line in reply.splitlines():
        if line.startswith("Mode: "):
            return line.removeprefix("Mode: ").strip()
    return None


class Ensemble:
    """Three members' variables and the play that applies the role to them."""

    def __init__(self, ansible: Ansible) -> None:
        self.ansible = ansible
        self.root = ansible.workdir / "hosts"
        ports = free_ports(3 * len(MEMBERS))
        self.client_ports: dict[str, int] = {}
        self.quorum_ports: dict[str, tuple[int, int]] = {}
        lines = ["[zookeeper]"]
        for i, host in enumerate(MEMBERS):
            base = self.root / host
            (base / "etc/systemd/system").mkdir(parents=True)
            client, peer, election = ports[3 * i : 3 * i + 3]
            self.client_ports[host] = client
            self.quorum_ports[host] = (peer, election)
            hostvars = {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                # no zookeeper_myid: the role numbers the members in inventory order
                "zookeeper_conf_dir": base / "etc/zookeeper/hotline",
                "zookeeper_data_dir": base / "var/lib/zookeeper/data",
                "zookeeper_data_log_dir": base / "var/lib/zookeeper/txlog",
                "zookeeper_unit_dir": base / "etc/systemd/system",
                "zookeeper_peer_address": "127.0.0.1",
                "zookeeper_client_address": "127.0.0.1",
                "zookeeper_client_port": client,
                "zookeeper_peer_port": peer,
                "zookeeper_election_port": election,
                "zookeeper_firewall_file": base / "etc/nftables.d/hotline-zookeeper.nft",
            }
            lines.append(f"{host} " + " ".join(f"{k}={v}" for k, v in hostvars.items()))
        lines += [
            "[zookeeper:vars]",
            "zookeeper_manage_packages=false",
            "zookeeper_manage_service=false",
            "zookeeper_user=root",
            "zookeeper_group=root",
            "zookeeper_tick_time_ms=200",
            "zookeeper_heap=128m",
        ]
        self.inventory = ansible.workdir / "zookeeper.ini"
        self.inventory.write_text("\n".join(lines) + "\n")
        self.playbook = ansible.workdir / "apply-zookeeper.yml"
        play = {"name": "ZooKeeper", "hosts": "zookeeper", "gather_facts": False}
        play["vars"] = {
            "zookeeper_super_digest": make_digest_acl_credential(*SUPER),
            "zookeeper_nft": nft_in_netns(),
            "zookeeper_allowed_clients": ["127.0.0.1", "::1", "192.0.2.0/24"],
        }
        play["roles"] = ["zookeeper"]
        self.playbook.write_text(yaml.safe_dump([play], sort_keys=False))

    def unit(self, host: str) -> Path:
        return self.root / host / "etc/systemd/system/zookeeper.service"

    def exec_start(self, host: str) -> list[str]:
        for line in self.unit(host).read_text().splitlines():
            if line.startswith("ExecStart="):
                return shlex.split(line.removeprefix("ExecStart="))
        raise AssertionError(f"no ExecStart in {self.unit(host)}")


@contextlib.contextmanager
def _running(ensemble: Ensemble) -> Iterator[None]:
    procs = []
    try:
        for host in MEMBERS:
            with (ensemble.root / host / "zookeeper.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        ensemble.exec_start(host),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _kazoo(ensemble: Ensemble, auth: tuple[str, str] | None) -> KazooClient:
    hosts = ",".join(f"127.0.0.1:{p}" for p in ensemble.client_ports.values())
    digest = None if auth is None else [("digest", f"{auth[0]}:{auth[1]}")]
    client = KazooClient(hosts=hosts, timeout=4.0, auth_data=digest)
    client.start(timeout=15)
    return client


def _super_digest_passes_every_acl(ensemble: Ensemble) -> None:
    """zoo.cfg's superDigest reaches the server: a znode only its owner may read is read by the
    super identity and refused to anyone else."""
    owner_auth = ("hotline", "owner-pass-1")
    clients = [_kazoo(ensemble, a) for a in (owner_auth, SUPER, None)]
    owner, admin, outsider = clients
    try:
        owner.create("/locked", b"route", acl=[make_digest_acl(*owner_auth, all=True)])
        assert admin.get("/locked")[0] == b"route"
        with pytest.raises(NoAuthError):
            outsider.get("/locked")
        admin.delete("/locked")
    finally:
        for c in clients:
            c.stop()
            c.close()


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Ensemble:
    if shutil.which("java") is None or not Path("/usr/share/java/zookeeper.jar").exists():
        pytest.skip("Debian's zookeeper package is not installed")
    return Ensemble(Ansible(tmp_path_factory.mktemp("zookeeper-role")))


def test_rendered_ensemble_elects_a_leader_and_rerun_changes_nothing(ensemble: Ensemble) -> None:
    first = ensemble.ansible.playbook(ensemble.playbook, ensemble.inventory)
    assert first.returncode == 0, first.output
    assert all(first.changed(h) > 0 for h in MEMBERS)

    for i, host in enumerate(MEMBERS, start=1):
        assert (ensemble.root / host / "var/lib/zookeeper/data/myid").read_text().strip() == str(i)
        cfg = (ensemble.root / host / "etc/zookeeper/hotline/zoo.cfg").read_text().splitlines()
        assert "4lw.commands.whitelist=ruok,srvr,mntr" in cfg
        assert sum(line.startswith("server.") for line in cfg) == 3
        assert f"dataLogDir={ensemble.root / host / 'var/lib/zookeeper/txlog'}" in cfg
        assert "clientPortAddress=127.0.0.1" in cfg
        zoo_cfg = ensemble.root / host / "etc/zookeeper/hotline/zoo.cfg"
        assert zoo_cfg.stat().st_mode & 0o777 == 0o640  # it holds the super digest
        rules = (ensemble.root / host / "etc/nftables.d/hotline-zookeeper.nft").read_text()
        assert "elements = { 127.0.0.1, 192.0.2.0/24 }" in rules  # clients (members: loopback)
        ports = [ensemble.client_ports[host], *ensemble.quorum_ports[host]]
        assert f"tcp dport {{ {ports[1]}, {ports[2]} }} ip saddr @peers_v4 accept" in rules
        assert f"tcp dport {{ {', '.join(map(str, ports))} }} counter reject" in rules
        argv = ensemble.exec_start(host)
        assert "-Xmx128m" in argv
        assert argv[-2] == "org.apache.zookeeper.server.quorum.QuorumPeerMain"

    with _running(ensemble):
        modes: dict[str, str | None] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            modes = {h: _mode(ensemble.client_ports[h]) for h in MEMBERS}
            if all(m in ("leader", "follower") for m in modes.values()):
                break
            time.sleep(0.25)
        assert sorted(str(m) for m in modes.values()) == ["follower", "follower", "leader"], modes
        assert four_letter(ensemble.client_ports["zk-a"], "ruok", timeout=2.0) == "imok"
        _super_digest_passes_every_acl(ensemble)

    second = ensemble.ansible.playbook(ensemble.playbook, ensemble.inventory)
    assert second.returncode == 0, second.output
    assert all(second.changed(h) == 0 for h in MEMBERS), second.output


def test_units_verify(ensemble: Ensemble) -> None:
    if not ensemble.unit(MEMBERS[0]).exists():
        run = ensemble.ansible.playbook(ensemble.playbook, ensemble.inventory)
        assert run.returncode == 0, run.output
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    proc = subprocess.run(
        [analyze, "verify", *(str(ensemble.unit(h)) for h in MEMBERS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""
