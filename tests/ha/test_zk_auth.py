"""ZooKeeper digest authentication and ACLs (issue 16 point 9), on a real 3-server ensemble.

The controllers authenticate as one digest identity; every znode they create carries an ACL for
it (and read for a monitoring id), so a client on the network without the password can neither
read nor write the route record, the intents or the epoch: ZooKeeper answers ``NoAuth``. A tree
left world-writable by an older version is secured when an authenticated controller starts. The
servers run with a super digest, as the zookeeper role sets it up for the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl_credential

from controller.config import ZooKeeperSettings
from controller.coordination.base import CoordinationError, JsonDoc
from controller.coordination.zk_bridge import encode
from controller.coordination.zookeeper import ZooKeeperCoordinator
from tests.support.zk_lab import ZkEnsemble, available

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PASSWORD = "zk-controller-secret-9f3b"
MONITOR = ("monitor", "zk-monitor-secret-11aa")
SUPER = ("super", "zk-super-secret-c0de")


@pytest.fixture(scope="module")
def zk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZkEnsemble]:
    if not available():
        pytest.skip("ZooKeeper (Debian package zookeeper) or java is not installed")
    ens = ZkEnsemble(
        tmp_path_factory.mktemp("zk-auth"), 3, super_digest=make_digest_acl_credential(*SUPER)
    )
    try:
        ens.start(timeout=60)
        yield ens
    finally:
        ens.stop()


_paths = iter(range(1000))


@pytest.fixture
def zk_path() -> str:
    return f"/hotline/auth{next(_paths)}"


def _settings(zk: ZkEnsemble, path: str, auth: dict[str, Any] | None) -> ZooKeeperSettings:
    return ZooKeeperSettings.model_validate(
        {"hosts": zk.hosts, "path": path, "session_timeout_s": 2.0, "auth": auth}
    )


def _auth(tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / "zookeeper.password"
    secret.write_text(PASSWORD + "\n")  # a trailing newline, as an editor leaves it
    return {
        "username": "hotline",
        "password_file": str(secret),
        "read_ids": [make_digest_acl_credential(*MONITOR)],
    }


@contextlib.contextmanager
def _kazoo(zk: ZkEnsemble, auth: tuple[str, str] | None = None) -> Iterator[KazooClient]:
    client = KazooClient(
        hosts=",".join(zk.hosts),
        timeout=4.0,
        auth_data=None if auth is None else [("digest", f"{auth[0]}:{auth[1]}")],
    )
    client.start(timeout=15)
    try:
        yield client
    finally:
        client.stop()
        client.close()


async def _until(cond: Callable[[], bool], timeout: float) -> None:
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout}s")


@pytest.fixture
async def pair(
    zk: ZkEnsemble, zk_path: str, tmp_path: Path
) -> AsyncIterator[list[ZooKeeperCoordinator]]:
    coords = [
        ZooKeeperCoordinator(_settings(zk, zk_path, _auth(tmp_path)), f"node-{i}") for i in (1, 2)
    ]
    for c in coords:
        await c.start()
    await _until(lambda: sum(c.may_actuate() for c in coords) == 1, 15)
    yield coords
    for c in coords:
        await c.stop()


async def _answer(doc: JsonDoc) -> JsonDoc:
    return {"ok": True, "echo": doc.get("action")}


async def test_authenticated_controllers_elect_write_and_serve_intents(
    pair: list[ZooKeeperCoordinator],
) -> None:
    leader = next(c for c in pair if c.may_actuate())
    follower = next(c for c in pair if c is not leader)
    await leader.check_fence()
    await leader.put("route", {"route": "secondary", "epoch": leader.epoch()})
    assert await follower.get("route") == {"route": "secondary", "epoch": leader.epoch()}
    for c in pair:
        c.set_intent_handler(_answer)
    answer = await follower.submit_intent({"action": "pause"}, 10.0)
    assert answer == {"ok": True, "echo": "pause"}


def _refused(client: KazooClient, root: str) -> list[str]:
    """The writes (and reads) an outsider attempts; the ones ZooKeeper refused with NoAuth."""
    attempts: dict[str, Callable[[], object]] = {
        "read epoch": lambda: client.get(f"{root}/epoch"),
        "write epoch": lambda: client.set(f"{root}/epoch", encode({"epoch": 99})),
        "delete epoch": lambda: client.delete(f"{root}/epoch"),
        "read route": lambda: client.get(f"{root}/state/route"),
        "write route": lambda: client.set(f"{root}/state/route", encode({"route": "oncall"})),
        "new intent": lambda: client.create(
            f"{root}/intents/i-", encode({"action": "failover", "to": "oncall"}), sequence=True
        ),
        "new state key": lambda: client.create(f"{root}/state/override", b"{}"),
        "join election": lambda: client.create(f"{root}/election/n-", b"x", sequence=True),
        "open the acl": lambda: client.set_acls(f"{root}/epoch", OPEN_ACL_UNSAFE),
    }
    refused = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except NoAuthError:
            refused.append(name)
    return refused


async def test_a_client_without_the_password_is_refused_everything(
    pair: list[ZooKeeperCoordinator], zk: ZkEnsemble, zk_path: str
) -> None:
    leader = next(c for c in pair if c.may_actuate())
    await leader.put("route", {"route": "primary"})
    everything = 9
    for who in (None, ("hotline", "a-wrong-password"), ("intruder", "whatever")):
        with _kazoo(zk, who) as outsider:
            refused = await asyncio.to_thread(_refused, outsider, zk_path)
        assert len(refused) == everything, (who, refused)
    assert await leader.get("route") == {"route": "primary"}
    await leader.check_fence()  # the epoch is untouched


async def test_the_monitoring_id_reads_but_cannot_write(
    pair: list[ZooKeeperCoordinator], zk: ZkEnsemble, zk_path: str
) -> None:
    leader = next(c for c in pair if c.may_actuate())
    await leader.put("route", {"route": "primary"})
    with _kazoo(zk, MONITOR) as monitor:
        data, _ = await asyncio.to_thread(monitor.get, f"{zk_path}/state/route")
        assert b'"primary"' in data
        refused = await asyncio.to_thread(_refused, monitor, zk_path)
    assert "read route" not in refused and "read epoch" not in refused
    assert len(refused) == 7, refused


async def test_an_older_world_writable_tree_is_secured_on_start(
    zk: ZkEnsemble, tmp_path: Path
) -> None:
    # Not under /hotline: the other tests' authenticated controllers created it with their ACL,
    # so an unauthenticated (older) controller could not create a path below it.
    zk_path = f"/legacy{next(_paths)}/prod"
    old = ZooKeeperCoordinator(_settings(zk, zk_path, None), "node-1")
    await old.start()
    await _until(old.may_actuate, 15)
    await old.put("route", {"route": "secondary"})
    await old.stop()
    with _kazoo(zk) as outsider:  # before: anyone may write
        await asyncio.to_thread(outsider.set, f"{zk_path}/state/route", encode({"route": "x"}))
        await asyncio.to_thread(outsider.set, f"{zk_path}/state/route", encode({"route": "y"}))

    new = ZooKeeperCoordinator(_settings(zk, zk_path, _auth(tmp_path)), "node-1")
    await new.start()
    try:
        await _until(new.may_actuate, 15)
        with _kazoo(zk) as outsider:
            refused = await asyncio.to_thread(_refused, outsider, zk_path)
        assert len(refused) == 9, refused
        assert await new.get("route") == {"route": "y"}
        await new.put("route", {"route": "primary"})
    finally:
        await new.stop()
    with _kazoo(zk, SUPER) as admin:  # the role's super identity can still recover anything
        acls, _ = await asyncio.to_thread(admin.get_acls, f"{zk_path}/state/route")
        assert {(a.id.scheme, a.id.id.split(":")[0]) for a in acls} == {
            ("digest", "hotline"),
            ("digest", "monitor"),
        }


async def test_an_unreadable_password_stops_the_start_without_a_secret(
    zk: ZkEnsemble, zk_path: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = {"username": "hotline", "password_file": str(tmp_path / "absent")}
    coord = ZooKeeperCoordinator(_settings(zk, zk_path, missing), "node-1")
    with pytest.raises(CoordinationError, match="cannot read the ZooKeeper password file"):
        await coord.start()
    caplog.set_level(logging.DEBUG)
    good = ZooKeeperCoordinator(_settings(zk, zk_path, _auth(tmp_path)), "node-2")
    await good.start()
    try:
        await _until(good.may_actuate, 15)
    finally:
        await good.stop()
    assert PASSWORD not in caplog.text and "digest:hotline" in caplog.text
    assert PASSWORD not in repr(good.credentials) and PASSWORD not in repr(good.settings)
