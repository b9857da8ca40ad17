"""A local Twilio for the real client: an HTTPS Messages endpoint behind an HTTP CONNECT proxy.

The twilio library has no base-URL setting; it always calls ``https://api.twilio.com`` (or
``api.<edge>.<region>.twilio.com``). What it does support is a proxy (``TwilioHttpClient(proxy=)``
or ``HTTPS_PROXY``) and requests' CA settings, so the production code path is tested as is: the
client opens a CONNECT tunnel through our proxy on 127.0.0.1, which leads every host to our
server, and verifies the server's certificate against a private CA made here.

``LocalTwilio.mode`` answers 201 (queued), 400 (code 21211), 429 (code 20429), 500, or
``never`` (reads the request, never answers).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-xyz"
HOSTS = ("api.twilio.com", "api.dublin.ie1.twilio.com")
_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # not today: the suite pins the clock
_NOT_AFTER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for Twilio's hosts: (ca.pem, cert.pem, key.pem)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("hotline test CA"))
        .issuer_name(_name("hotline test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(HOSTS[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class LocalTwilio(ThreadingHTTPServer):
    """Answers like Twilio's Messages resource over TLS; records every request."""

    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.requests: list[dict[str, Any]] = []
        self.mode: str = "201"
        self.released = threading.Event()  # ends every "never" answer (at teardown)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: LocalTwilio

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        mode = self.server.mode
        self.server.requests.append(
            {"path": self.path, "host": self.headers.get("Host"), "form": form,
             "auth": (user, password), "mode": mode}
        )  # fmt: skip
        if mode == "never":
            self.server.released.wait(30)
            return
        status = int(mode)
        payload: dict[str, Any]
        if status == 201:
            n = len(self.server.requests)
            payload = {"sid": f"SM{n:032x}", "status": "queued", "to": form.get("To")}
        else:
            code = {400: 21211, 429: 20429}.get(status, 20500)
            payload = {"code": code, "message": "test error", "more_info": "", "status": status}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy that leads every tunnel to ``target`` (our Twilio); records the
    hosts asked for."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: int) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.target = target
        self.hosts: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Tunnel(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1")
        while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
            pass
        method, _, rest = line.partition(" ")
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        self.server.hosts.append(rest.split(" ")[0])
        with socket.create_connection(("127.0.0.1", self.server.target), timeout=30) as up:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe(self.connection, up)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    for _ in range(100_000):  # bounded: far more chunks than one API call needs
        ready, _, _ = select.select([a, b], [], [], 30)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


@dataclass
class TwilioLab:
    server: LocalTwilio
    proxy: ConnectProxy
    ca: Path

    def settings(self, **kw: Any) -> dict[str, Any]:
        """A ``notifier.twilio`` section that reaches this lab through the proxy."""
        base = {
            "account_sid": SID,
            "auth_token": TOKEN,
            "from_number": "+420600000000",
            "proxy": self.proxy.url,
            "ca_file": str(self.ca),
            "timeout_s": 2,
        }
        return base | kw


@contextlib.contextmanager
def twilio_lab(folder: Path) -> Iterator[TwilioLab]:
    ca, cert, key = make_ca(folder)
    server = LocalTwilio(cert, key)
    proxy = ConnectProxy(server.port)
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in (server, proxy)
    ]
    for t in threads:
        t.start()
    try:
        yield TwilioLab(server, proxy, ca)
    finally:
        server.released.set()
        for s in (server, proxy):
            s.shutdown()
            s.server_close()
        for t in threads:
            t.join(5)
