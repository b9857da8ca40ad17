"""The CLI's client side: TLS verification against a real uvicorn TLS server (a CA and a server
certificate made here with ``cryptography``), the progress line on a terminal (a pty) and not in a
pipe, every option's help and default, and the 422 sentences."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controller.cli.main import build_parser, main
from controller.cli.messages import describe

ROOT = Path(__file__).resolve().parents[2]
STATUS: dict[str, Any] = {
    "node": "tls-1", "leader": "tls-1", "is_leader": True, "may_actuate": True, "mode": "auto",
    "active": {"route": "primary", "number": "+420212000001", "since": "2026-06-17T10:00:00Z",
               "verified": True, "failed": False},
    "desired": "primary", "reason": "primary healthy", "conditions": [], "components": [],
}  # fmt: skip


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(tmp: Path, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path = tmp / f"{cn}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def _server_cert(tmp: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("hotline api"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    path = tmp / "server.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The API's ``GET /v1/status`` and nothing else."""
    if scope["type"] != "http":
        return
    found = scope["path"] == "/v1/status"
    body = json.dumps(STATUS if found else {"detail": "Not Found"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def tls_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(https URL, the CA that signed its certificate, another CA)."""
    tmp = tmp_path_factory.mktemp("tls")
    ca_key, ca, ca_path = _ca(tmp, "lab-ca")
    _, _, other = _ca(tmp, "other-ca")
    pem = _server_cert(tmp, ca_key, ca)
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=0, ssl_certfile=str(pem), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", ca_path, other
    finally:
        server.should_exit = True
        thread.join(10)


def test_https_with_the_right_ca(
    tls_api: tuple[str, Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, ca, _ = tls_api
    assert main(["status", "--url", url, "--ca", str(ca), "--token", "t" * 20]) == 0
    assert capsys.readouterr().out.startswith("HOTLINE OK: calls take the primary route")
    monkeypatch.setenv("HOTLINE_CA", str(ca))
    assert main(["status", "--url", url]) == 0
    assert capsys.readouterr().err == ""


def test_an_untrusted_certificate_is_a_sentence(
    tls_api: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, other = tls_api
    for extra in ([], ["--ca", str(other)]):
        assert main(["status", "--url", url, "--timeout", "5", *extra]) == 3
        err = capsys.readouterr().err
        assert err.startswith(f"cannot reach the controller at {url}: its TLS certificate is not")
        assert "--ca FILE or HOTLINE_CA" in err and "Traceback" not in err
    assert main(["events", "--url", url, "--timeout", "5"]) == 1  # not status: exit 1
    assert "not trusted" in capsys.readouterr().err
    assert main(["status", "--url", url.replace("https", "http"), "--timeout", "5"]) == 3
    assert capsys.readouterr().err.startswith("cannot reach the controller at http://127.0.0.1")


def test_a_bad_ca_option_is_bad_input(
    tls_api: tuple[str, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, _ = tls_api
    assert main(["status", "--url", url, "--ca", str(tmp_path / "missing.pem")]) == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert main(["status", "--url", url, "--ca", str(junk)]) == 2
    assert "holds no usable PEM certificate" in capsys.readouterr().err


def test_the_untrusted_case_runs_without_traceback_as_a_process(
    tls_api: tuple[str, Path, Path],
) -> None:
    url, _, _ = tls_api
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    done = subprocess.run(
        [sys.executable, "-m", "controller", "status", "--url", url, "--timeout", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "not trusted" in done.stderr


# ---- progress while waiting --------------------------------------------------------------------


@pytest.fixture
def slow_api() -> Iterator[str]:
    """A controller that takes 2.5 s to verify a failover (a slow modem)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(2.5)
            body = json.dumps(
                {"accepted": True, "verified": True, "route": "secondary", "message": "verified"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _failover_argv(url: str) -> list[str]:
    return [sys.executable, "-m", "controller", "failover", "--to", "secondary", "--reason",
            "slow modem", "--url", url, "--token", "t" * 20]  # fmt: skip


def test_progress_on_a_terminal_only(slow_api: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    master, slave = pty.openpty()
    proc = subprocess.Popen(_failover_argv(slow_api), stdout=slave, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(10) == 0
    text = seen.decode()
    assert "\rwaiting for the controller's verified result (http://127.0.0.1:" in text
    assert "… 1 s" in text and "… 2 s" in text
    assert "done: route secondary: verified" in text
    piped = subprocess.run(
        _failover_argv(slow_api), capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert piped.returncode == 0
    assert piped.stdout == "done: route secondary: verified\n" and piped.stderr == ""


# ---- help, defaults, sentences -----------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, path: str = "hotline") -> Iterator[tuple[str, Any]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_has_help_and_shows_its_default() -> None:
    missing, no_default = [], []
    for path, parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if action.help == argparse.SUPPRESS:
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
                continue
            shown = formatter._expand_help(action)
            meaningful = action.default not in (None, False, [], "", argparse.SUPPRESS)
            if action.option_strings and meaningful and "default" not in shown:
                no_default.append(f"{path} {action.option_strings[0]}")
    assert missing == [] and no_default == []


def test_help_names_the_default_url_and_the_status_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default http://127.0.0.1:8080" in text and "--ca FILE" in text
    assert "0 OK; 1 WARNING" in text and "2 CRITICAL" in text and "3 UNKNOWN" in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("hotline 0.")


@pytest.mark.parametrize(
    ("issue", "sentence"),
    [
        ({"loc": ["body", "ttl_s"], "msg": "Input should be less than or equal to 604800",
          "type": "less_than_equal"}, "--ttl: must be at most 7 days (604800 s)"),
        ({"loc": ["body", "ttl_s"], "msg": "Input should be greater than 0",
          "type": "greater_than"}, "--ttl: must be more than 0 s"),
        ({"loc": ["body", "reason"], "msg": "String should have at most 500 characters",
          "type": "string_too_long"}, "--reason: must be at most 500 characters"),
        ({"loc": ["query", "limit"], "msg": "Input should be greater than or equal to 1",
          "type": "greater_than_equal"}, "--limit: must be at least 1"),
        ({"loc": ["body", "reason"], "msg": "Field required", "type": "missing"},
         "--reason: is required"),
        ({"loc": ["body", "reason"], "msg": "must not contain control or bidi characters",
          "type": "value_error"}, "--reason: must not contain control or bidi characters"),
    ],
)  # fmt: skip
def test_a_422_reads_as_a_sentence(issue: dict[str, Any], sentence: str) -> None:
    assert describe(422, {"detail": [issue]}) == sentence


def test_refusals_speak_of_the_flag() -> None:
    body = {"message": "override to secondary by ops not applied: down (x), set force to insist"}
    assert describe(409, body).endswith("add --force to insist")


def test_a_token_in_clear_text_off_loopback_is_warned_about() -> None:
    from controller.cli.client import Target, clear_text_warning

    def warn(url: str, token: str | None = "t" * 20) -> str | None:
        return clear_text_warning(Target(url, token, None, 5.0))

    assert warn("http://127.0.0.1:8080") is None and warn("http://[::1]:8080") is None
    assert warn("https://10.0.0.1:8443") is None and warn("http://10.0.0.1", None) is None
    said = warn("http://ops:pw@10.0.0.1:8080")
    assert said is not None and "http://10.0.0.1:8080 in clear text" in said and "pw" not in said
