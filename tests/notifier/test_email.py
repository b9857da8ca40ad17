"""Real e-mail to a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS, implicit TLS."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message as MimeMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from controller.notifier.channels import ChannelError, EmailChannel
from controller.notifier.rows import Message
from controller.notifier.settings import SmtpSettings
from tests.notifier.helpers import Clock, MakeNotifier, RecordingChannel, signal

pytestmark = pytest.mark.slow

USER, PASSWORD = "hotline", "s3cret-smtp-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return crt, key


@dataclass
class Inbox:
    messages: list[MimeMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK queued as test"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def _server_ctx(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def smtp_server(
    request: pytest.FixtureRequest, cert: tuple[Path, Path]
) -> Iterator[tuple[Inbox, int]]:
    mode = request.param
    inbox = Inbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    if mode == "starttls":
        kwargs = {
            "tls_context": _server_ctx(cert),
            "require_starttls": True,
            "authenticator": _authenticator,
            "auth_required": True,
        }
    elif mode == "implicit":
        kwargs = {
            "ssl_context": _server_ctx(cert),
            "authenticator": _authenticator,
            # the whole session is TLS, but aiosmtpd only counts STARTTLS as TLS: offer AUTH anyway
            "auth_require_tls": False,
            "server_hostname": "127.0.0.1",
        }
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10, **kwargs)
    ctl.start()
    try:
        yield inbox, port
    finally:
        ctl.stop()


def settings(port: int, tls: str, cert: tuple[Path, Path], **kw: Any) -> SmtpSettings:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": tls,
        "from": "hotline@example.org",
        "timeout_s": 10,
    }
    if tls != "none":
        base |= {"username": USER, "password": PASSWORD, "ca_file": str(cert[0])}
    return SmtpSettings.model_validate(base | kw)


MSG = Message(
    key="inc7/open/alice",
    kind="open",
    severity="critical",
    recipient="alice",
    channels=("email",),
    sms_text="short",
    subject="[hotline critical] #7 opened: down",
    body="Incident #7 (route) opened.\nTimeline:\n  12:00 opened\n",
    email="alice@example.org",
)


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "implicit"], indirect=True)
async def test_each_tls_mode_delivers(
    smtp_server: tuple[Inbox, int], cert: tuple[Path, Path], request: pytest.FixtureRequest
) -> None:
    inbox, port = smtp_server
    mode = request.node.callspec.params["smtp_server"]
    ref = await EmailChannel(settings(port, mode, cert)).send(MSG)
    assert "250" in ref or "OK" in ref
    (msg,) = inbox.messages
    assert msg["To"] == "alice@example.org" and msg["From"] == "hotline@example.org"
    assert msg["Subject"] == "[hotline critical] #7 opened: down"
    assert msg["X-Hotline-Key"] == "inc7/open/alice"
    assert "Timeline:" in msg.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert inbox.envelopes == [("hotline@example.org", ["alice@example.org"])]


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
async def test_wrong_password_and_untrusted_certificate_fail(
    smtp_server: tuple[Inbox, int], cert: tuple[Path, Path]
) -> None:
    inbox, port = smtp_server
    with pytest.raises(ChannelError) as bad_auth:
        await EmailChannel(settings(port, "starttls", cert, password="wrong-password")).send(MSG)
    assert "wrong-password" not in str(bad_auth.value) and PASSWORD not in str(bad_auth.value)
    with pytest.raises(ChannelError):  # the self-signed certificate is not trusted by default
        await EmailChannel(settings(port, "starttls", cert, ca_file=None)).send(MSG)
    assert inbox.messages == []


async def test_refused_connection_is_a_channel_error(cert: tuple[Path, Path]) -> None:
    with pytest.raises(ChannelError) as err:
        await EmailChannel(settings(free_port(), "none", cert)).send(MSG)
    assert err.value.channel == "email"


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
async def test_sms_fails_then_email_reaches_the_technician(
    smtp_server: tuple[Inbox, int],
    cert: tuple[Path, Path],
    make_notifier: MakeNotifier,
    clock: Clock,
) -> None:
    inbox, port = smtp_server
    smtp = settings(port, "starttls", cert).model_dump(by_alias=True, mode="json")
    smtp["password"] = PASSWORD
    modem = RecordingChannel("modem_sms", fail=True)
    n = make_notifier(
        {"modem_sms": modem, "email": EmailChannel(SmtpSettings.model_validate(smtp))},
        channels=["modem_sms", "email"],
        smtp=smtp,
        email_copy=False,
    )
    await n.signal(signal())
    assert await n.run_once() == 1
    (msg,) = inbox.messages
    body = msg.get_payload(decode=True).decode()  # type: ignore[union-attr]
    inc = n.store.incidents()[0]
    assert f'reply "ACK {inc.code}"' in body and "trunk-b down (503)" in body
    assert "opened: all lines down" in body  # the timeline
    assert n.store.outbox()[0].channel == "email"


@pytest.mark.parametrize("smtp_server", ["none"], indirect=True)
async def test_email_copy_goes_with_the_sms(
    smtp_server: tuple[Inbox, int], cert: tuple[Path, Path], make_notifier: MakeNotifier
) -> None:
    inbox, port = smtp_server
    smtp = {"host": "127.0.0.1", "port": port, "tls": "none", "from": "hotline@example.org"}
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms, "email": EmailChannel(SmtpSettings.model_validate(smtp))},
        channels=["modem_sms", "email"],
        smtp=smtp,
    )
    await n.signal(signal())
    assert await n.run_once() == 2
    assert [m.recipient for m in sms.sent] == ["alice"]
    assert [m["To"] for m in inbox.messages] == ["alice@example.org"]
