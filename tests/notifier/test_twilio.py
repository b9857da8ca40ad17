"""Real twilio client calls, sent to a local HTTP server through the http_client hook.

The server checks the exact request Twilio's API would receive: ``POST
/2010-04-01/Accounts/{AccountSid}/Messages.json``, form fields To, From (or MessagingServiceSid),
Body, and HTTP Basic auth with the account SID and auth token.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from controller.notifier.channels import ChannelError, TwilioSmsChannel
from controller.notifier.rows import Message
from controller.notifier.settings import TwilioSettings
from tests.notifier.helpers import MakeNotifier, RecordingChannel, signal

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-xyz"
MG = "MG" + "fedcba9876543210" * 2


class LocalTwilio(ThreadingHTTPServer):
    """Answers like Twilio's Messages resource; records every request it received."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None


class _Handler(BaseHTTPRequestHandler):
    server: LocalTwilio

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        auth = self.headers.get("Authorization", "")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self.server.requests.append(
            {
                "path": self.path,
                "form": form,
                "auth": (user, password),
                "content_type": self.headers.get("Content-Type"),
            }
        )
        if self.server.fail_with is not None:
            status = self.server.fail_with
            payload: dict[str, Any] = {
                "code": 21211,
                "message": "Invalid 'To' Phone Number",
                "more_info": "",
                "status": status,
            }
        else:
            status = 201
            payload = {
                "sid": "SM" + "1" * 32,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "account_sid": SID,
                "num_segments": "1",
            }
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class RedirectingHttpClient(TwilioHttpClient):
    """The library's own HTTP client, sending to the local server instead of api.twilio.com."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=5)
        self.base = base
        assert self.session is not None
        self.session.trust_env = False  # no proxy from the environment for a loopback server

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        assert parts.hostname == "api.twilio.com", url
        return super().request(method, self.base + parts.path, *args, **kwargs)


@pytest.fixture
def twilio_server() -> Iterator[LocalTwilio]:
    server = LocalTwilio()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def base_url(server: LocalTwilio) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def settings(**kw: Any) -> TwilioSettings:
    return TwilioSettings.model_validate(
        {"account_sid": SID, "auth_token": TOKEN, "from_number": "+420600000000"} | kw
    )


MSG = Message(
    key="inc1/open/alice",
    kind="open",
    severity="critical",
    recipient="alice",
    channels=("twilio_sms",),
    sms_text="HOTLINE CRITICAL #1: all down. Reply ACK K7M2Q9",
    subject="s",
    body="b",
    mobile="+420777000001",
)


async def test_send_is_the_request_twilio_expects(twilio_server: LocalTwilio) -> None:
    ch = TwilioSmsChannel(settings(), RedirectingHttpClient(base_url(twilio_server)))
    assert await ch.send(MSG) == "SM" + "1" * 32
    (req,) = twilio_server.requests
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["auth"] == (SID, TOKEN)
    assert req["content_type"] == "application/x-www-form-urlencoded"
    assert req["form"] == {
        "To": "+420777000001",
        "From": "+420600000000",
        "Body": "HOTLINE CRITICAL #1: all down. Reply ACK K7M2Q9",
    }


async def test_messaging_service_instead_of_a_from_number(twilio_server: LocalTwilio) -> None:
    cfg = settings(from_number=None, messaging_service_sid=MG)
    await TwilioSmsChannel(cfg, RedirectingHttpClient(base_url(twilio_server))).send(MSG)
    form = twilio_server.requests[0]["form"]
    assert form["MessagingServiceSid"] == MG and "From" not in form


async def test_api_error_is_a_channel_error_without_the_token(twilio_server: LocalTwilio) -> None:
    twilio_server.fail_with = 400
    ch = TwilioSmsChannel(settings(), RedirectingHttpClient(base_url(twilio_server)))
    with pytest.raises(ChannelError) as err:
        await ch.send(MSG)
    assert "HTTP 400" in err.value.reason and "21211" in err.value.reason
    assert TOKEN not in str(err.value)


async def test_a_non_e164_number_never_reaches_twilio(twilio_server: LocalTwilio) -> None:
    ch = TwilioSmsChannel(settings(), RedirectingHttpClient(base_url(twilio_server)))
    bad = replace(MSG, mobile="+420777000001;+CFUN=0")
    with pytest.raises(ChannelError):
        await ch.send(bad)
    assert twilio_server.requests == []


async def test_modem_fails_twilio_delivers(
    twilio_server: LocalTwilio, make_notifier: MakeNotifier
) -> None:
    modem = RecordingChannel("modem_sms", fail=True)
    twilio = TwilioSmsChannel(settings(), RedirectingHttpClient(base_url(twilio_server)))
    n = make_notifier(
        {"modem_sms": modem, "twilio_sms": twilio},
        channels=["modem_sms", "twilio_sms"],
        twilio={"account_sid": SID, "auth_token": TOKEN, "from_number": "+420600000000"},
    )
    await n.signal(signal())
    assert await n.run_once() == 1
    (req,) = twilio_server.requests
    inc = n.store.incidents()[0]
    assert req["form"]["To"] == "+420777000001"
    assert req["form"]["Body"].endswith(f"Reply ACK {inc.code}")
    row = n.store.outbox()[0]
    assert row.channel == "twilio_sms" and row.provider_id == "SM" + "1" * 32


async def test_edge_region_and_a_token_from_the_environment(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The real client's own settings, through the proxy the config names, to a private CA."""
    from tests.notifier.twilio_lab import twilio_lab

    monkeypatch.setenv("HOTLINE_TWILIO_TOKEN", TOKEN)
    with twilio_lab(tmp_path) as lab:
        cfg = lab.settings(auth_token=None, auth_token_env="HOTLINE_TWILIO_TOKEN")
        ch = TwilioSmsChannel(
            TwilioSettings.model_validate(cfg | {"edge": "dublin", "region": "ie1"})
        )
        sid = await ch.send(MSG)
        (req,) = lab.server.requests
    assert sid.startswith("SM") and lab.proxy.hosts == ["api.dublin.ie1.twilio.com:443"]
    assert req["host"] == "api.dublin.ie1.twilio.com" and req["auth"] == (SID, TOKEN)
    assert TOKEN not in caplog.text


def test_the_token_comes_from_exactly_one_place(tmp_path: Any) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    s = TwilioSettings.model_validate(
        {"account_sid": SID, "auth_token_file": str(token), "from_number": "+420600000000"}
    )
    assert s.token() == TOKEN and TOKEN not in repr(s)
    with pytest.raises(ValueError, match="exactly one of auth_token"):
        TwilioSettings.model_validate({"account_sid": SID, "from_number": "+420600000000"})
