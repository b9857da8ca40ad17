"""The daemon's HTTP API: the FastAPI app served by uvicorn inside the daemon's event loop.

``start_api`` returns once the socket is bound (or raises ``DaemonError``: the port is taken, the
TLS files cannot be loaded, or uvicorn gave up); the daemon stops the server by setting
``should_exit`` at shutdown. With ``api.tls`` the server speaks HTTPS only; the certificate and key
are read at start, so a renewed certificate takes effect when the daemon restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.calls.service import CallLog
from controller.config import HotlineConfig
from controller.config.security import ApiTls
from controller.notifier.service import Notifier
from controller.service.contract import ControllerService

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

log = logging.getLogger("hotline.daemon")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class _QuietServer:
    """uvicorn's Server without its own signal handlers: the daemon owns SIGTERM."""

    @staticmethod
    def make(app: FastAPI, host: str, port: int, tls: ApiTls | None = None) -> uvicorn.Server:
        import uvicorn

        opts = tls_options(tls)

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ssl_certfile=opts.certfile,
            ssl_keyfile=opts.keyfile,
            ssl_ca_certs=opts.ca_certs,
            ssl_cert_reqs=opts.cert_reqs,
        )
        return Server(config)


@dataclass(frozen=True)
class TlsOptions:
    certfile: str | None = None
    keyfile: str | None = None
    ca_certs: str | None = None
    cert_reqs: int = ssl.CERT_NONE


def tls_options(tls: ApiTls | None) -> TlsOptions:
    """uvicorn's certificate options for ``api.tls``, after loading the files once ourselves so a
    missing or mismatched file is a clear ``DaemonError`` (never the key's bytes)."""
    if tls is None:
        return TlsOptions()
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        probe.load_cert_chain(str(tls.cert), str(tls.key))
        if tls.client_ca is not None:
            probe.load_verify_locations(cafile=str(tls.client_ca))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.reason if isinstance(exc, ssl.SSLError) else exc.strerror
        raise DaemonError(
            f"api.tls: cannot load the certificate {tls.cert}, key {tls.key}"
            f"{'' if tls.client_ca is None else f' or client CA {tls.client_ca}'}: {reason}"
        ) from None
    if tls.client_ca is None:
        return TlsOptions(str(tls.cert), str(tls.key))
    return TlsOptions(str(tls.cert), str(tls.key), str(tls.client_ca), ssl.CERT_REQUIRED)


class DaemonError(Exception):
    """The daemon cannot run (e.g. the API port is taken); nothing was actuated."""


async def _serve_api(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits the process on a bind error; we decide instead
        raise DaemonError(f"the HTTP API could not start (uvicorn exit {exc.code})") from None


async def start_api(
    cfg: HotlineConfig,
    service: ControllerService,
    notifier: Notifier | None,
    calls: CallLog | None,
    extend_app: Callable[[FastAPI], None] | None,
) -> tuple[uvicorn.Server, asyncio.Task[None]] | None:
    try:
        from controller.api.app import create_app
    except ImportError:
        log.warning("controller.api is not installed: running without the HTTP API")
        return None
    host, port = split_listen(cfg.api.listen)
    from controller.api.cluster import ClusterSource

    cluster = service if isinstance(service, ClusterSource) else None
    app = create_app(service, cfg, notifier=notifier, calls=calls, cluster=cluster)
    if extend_app is not None:
        extend_app(app)
    server = _QuietServer.make(app, host, port, cfg.api.tls)
    task = asyncio.create_task(_serve_api(server), name="api")
    for _ in range(200):  # up to 10 s for the socket to be bound
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        if task.done():
            task.result()  # raises the DaemonError
        task.cancel()
        raise DaemonError(f"the HTTP API did not start listening on {cfg.api.listen}")
    return server, task
