"""The API over TLS (issue 16 point 8): the daemon's real uvicorn server with a certificate from a
throwaway CA, reached by httpx that verifies it; plain HTTP refused off loopback at config load.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from controller.config import HotlineConfig
from controller.daemon import assemble
from controller.daemon_api import DaemonError, start_api
from tests.controller.e2e_lab import free_port
from tests.controller.helpers import lab_dict
from tests.support.certs import Issued, TestCa

pytestmark = pytest.mark.timeout(60)

VIEWER = "lab-viewer-token-0001"


def _config(tmp_path: Path, api: dict[str, Any]) -> HotlineConfig:
    data = lab_dict()
    data["node"] = {"name": "tls-1", "state_dir": str(tmp_path / "state")}
    data["notifier"] = {"enabled": False}
    data["api"] = {**data["api"], **api}
    return HotlineConfig.model_validate(data)


@dataclass
class Served:
    url: str
    ca: TestCa


@dataclass
class Pki:
    ca: TestCa
    server: Issued


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = TestCa(tmp_path / "pki")
    return Pki(ca, ca.issue("server"))


async def _serve(cfg: HotlineConfig) -> AsyncIterator[str]:
    parts = await assemble(cfg)
    served = await start_api(cfg, parts.service, parts.notifier, parts.calls, None)
    assert served is not None
    server, task = served
    try:
        yield f"https://{cfg.api.listen}"
    finally:
        server.should_exit = True
        await task
        if parts.link is not None:
            await parts.link.close()
        parts.events.close()


def _client_ctx(ca: Path | None, client: Issued | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=None if ca is None else str(ca))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    return ctx


@pytest.fixture
async def https(tmp_path: Path, pki: Pki) -> AsyncIterator[str]:
    tls = {"cert": str(pki.server.cert), "key": str(pki.server.key)}
    cfg = _config(tmp_path, {"listen": f"127.0.0.1:{free_port()}", "tls": tls})
    async for url in _serve(cfg):
        yield url


async def test_the_api_answers_over_https_with_a_verified_certificate(https: str, pki: Pki) -> None:
    async with httpx.AsyncClient(verify=_client_ctx(pki.ca.pem), timeout=10) as client:
        who = await client.get(f"{https}/v1/whoami", headers={"Authorization": f"Bearer {VIEWER}"})
        assert who.status_code == 200, who.text
        assert who.json()["role"] == "viewer"
        assert who.url.scheme == "https"


async def test_plain_http_and_an_unknown_ca_are_refused(https: str, tmp_path: Path) -> None:
    plain = https.replace("https://", "http://")
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get(f"{plain}/healthz")
    other = TestCa(tmp_path / "other", name="someone else's CA")
    async with httpx.AsyncClient(verify=_client_ctx(other.pem), timeout=5) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{https}/healthz")


async def test_client_certificates_are_required_when_a_client_ca_is_set(
    tmp_path: Path, pki: Pki
) -> None:
    clients = TestCa(tmp_path / "clients", name="operators' CA")
    tls = {
        "cert": str(pki.server.cert),
        "key": str(pki.server.key),
        "client_ca": str(clients.pem),
    }
    cfg = _config(tmp_path, {"listen": f"127.0.0.1:{free_port()}", "tls": tls})
    async for url in _serve(cfg):
        async with httpx.AsyncClient(verify=_client_ctx(pki.ca.pem), timeout=5) as client:
            with pytest.raises(httpx.HTTPError):
                await client.get(f"{url}/healthz")
        ok = _client_ctx(pki.ca.pem, clients.issue("ops-laptop", server=False))
        async with httpx.AsyncClient(verify=ok, timeout=5) as client:
            assert (await client.get(f"{url}/healthz")).status_code == 200


async def test_unreadable_or_mismatched_tls_files_stop_the_start(tmp_path: Path, pki: Pki) -> None:
    other = pki.ca.issue("other")
    mismatched = {"cert": str(pki.server.cert), "key": str(other.key)}
    missing = {"cert": str(tmp_path / "nope.pem"), "key": str(pki.server.key)}
    for tls, reason in ((mismatched, "KEY_VALUES_MISMATCH"), (missing, "No such file")):
        cfg = _config(tmp_path, {"listen": f"127.0.0.1:{free_port()}", "tls": tls})
        with pytest.raises(DaemonError, match=reason) as caught:
            async for _ in _serve(cfg):
                pass
        assert "PRIVATE KEY" not in str(caught.value)


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", "192.0.2.11:8080", "[::]:8080", "hl-1:8080"])
def test_plain_http_off_loopback_is_refused_unless_allowed(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ValidationError, match="not a loopback address"):
        _config(tmp_path, {"listen": listen})
    assert _config(tmp_path, {"listen": listen, "allow_plain_http": True}).api.tls is None


@pytest.mark.parametrize("listen", ["127.0.0.1:8080", "127.3.0.1:9", "[::1]:8080", "localhost:1"])
def test_plain_http_on_loopback_needs_no_setting(tmp_path: Path, listen: str) -> None:
    assert _config(tmp_path, {"listen": listen}).api.listen == listen
