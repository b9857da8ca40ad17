"""How one node's API reaches another's: the follower → leader proxy and the merged event log.

With ``api.tls`` every member's address is ``https://``, so the client must trust the CA that
signed the other nodes' certificates (``api.tls.peer_ca``, else the system's trust store: a
site's internal CA is not in it), and, when the API asks for client certificates
(``api.tls.client_ca``), present one: the node's own certificate. Without this a follower's
reads of the leader's logs all failed certificate verification and answered 503.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx

from controller.config.security import ApiTls

PeerClient = Callable[[float], httpx.AsyncClient]


def plain_peers(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_s)


def peer_clients(tls: ApiTls | None) -> PeerClient:
    """A factory of clients (timeout → client) for talking to the other members' APIs."""
    if tls is None:
        return plain_peers
    ctx = ssl.create_default_context(cafile=None if tls.peer_ca is None else str(tls.peer_ca))
    if tls.client_ca is not None:  # the members ask each other for a client certificate too
        ctx.load_cert_chain(str(tls.cert), str(tls.key))

    def make(timeout_s: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout_s, verify=ctx)

    return make
