"""Digest authentication and ACLs on the project's znodes.

With ``coordination.zookeeper.auth`` every session authenticates as ``username`` (kazoo's
``auth_data``), and every znode the coordinator creates gets ``default_acl``: all permissions for
that digest identity, read for each monitoring id in ``read_ids``, nothing for anyone else (no
``world:anyone``). An unauthenticated client can then neither read nor write the route record,
the intents or the epoch; ZooKeeper answers it ``NoAuth``.

Znodes created by an older version (or by hand) carry ``world:anyone`` with all permissions:
``secure_tree`` walks the cluster path once per session, at the start of the campaign, and sets
the ACL on every znode whose ACL differs (its ``aversion`` checked, so a concurrent change wins
and is retried next session). The path's ancestors (``/hotline``) are left alone when they exist
already: other hotlines may share them; README "ZooKeeper authentication" says how to lock them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kazoo.protocol.states import ZnodeStat
from kazoo.security import ACL, Id, Permissions, make_digest_acl, make_digest_acl_credential

from controller.config.security import ZooKeeperAuth
from controller.coordination.base import CoordinationError
from controller.coordination.zk_bridge import Start, ZkConflict

if TYPE_CHECKING:
    from controller.coordination.zookeeper import ZooKeeperCoordinator

log = logging.getLogger("hotline.coordination.zk")

MAX_ZNODES = 20_000
"""Bound of one walk; the project keeps a few hundred znodes (state keys, recent intents)."""


class _HideAuthPackets(logging.Filter):
    """kazoo logs every request at DEBUG, the ``Auth`` packet with its password included: the
    packet is replaced by a placeholder before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(type(a).__name__ == "Auth" for a in args):
            record.args = tuple("Auth(<hidden>)" if type(a).__name__ == "Auth" else a for a in args)
        return True


_HIDE = _HideAuthPackets()


class Credentials:
    """What kazoo needs for ``auth``: ``auth_data`` and ``default_acl``. ``repr`` hides both."""

    def __init__(self, auth: ZooKeeperAuth) -> None:
        password = auth.password_value()
        logging.getLogger("kazoo.client").addFilter(_HIDE)  # once: filters are a set
        self.username = auth.username
        self.auth_data = [("digest", f"{auth.username}:{password}")]
        self.acl = [make_digest_acl(auth.username, password, all=True)] + [
            ACL(Permissions.READ, Id("digest", rid)) for rid in auth.read_ids
        ]
        self.digest_id = make_digest_acl_credential(auth.username, password)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


def _get_acls(path: str) -> Start[tuple[list[ACL], ZnodeStat]]:
    return lambda k: k.get_acls_async(path)


def _set_acls(path: str, acl: list[ACL], aversion: int) -> Start[ZnodeStat]:
    return lambda k: k.set_acls_async(path, acl, aversion)


def _children(path: str) -> Start[list[str]]:
    return lambda k: k.get_children_async(path)


def _key(acls: list[ACL]) -> set[tuple[int, str, str]]:
    return {(a.perms, a.id.scheme, a.id.id) for a in acls}


async def secure_tree(coord: ZooKeeperCoordinator, root: str, acl: list[ACL]) -> int:
    """Give ``root`` and every znode below it ``acl``; the number of znodes changed.

    Bounded by ``MAX_ZNODES`` and by the coordinator's deadline on each call. A znode that
    vanishes meanwhile is skipped; one we may not administer (another identity's ACL) is logged
    and skipped: the walk never stops the campaign.
    """
    want = _key(acl)
    pending, changed, seen = [root], 0, 0
    while pending and seen < MAX_ZNODES:
        path = pending.pop()
        seen += 1
        try:
            current, stat = await coord.read(_get_acls(path), "get acl")
            if _key(current) != want:
                await coord.call(_set_acls(path, acl, stat.aversion), "set acl")
                changed += 1
            children = await coord.read(_children(path), "list for acl")
        except ZkConflict:
            continue  # gone, or its ACL changed under us: the next session looks again
        except CoordinationError as exc:
            if "NoAuth" not in str(exc):
                raise
            log.warning("zk.acl path=%s not ours to secure (NoAuth); left as it is", path)
            continue
        base = path.rstrip("/")
        pending.extend(f"{base}/{child}" for child in children)
    if changed:
        log.info("zk.acl secured %d znode(s) under %s", changed, root)
    return changed
