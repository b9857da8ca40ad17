"""Delivery channels: SMS through the GSM modem, SMS through Twilio, e-mail through SMTP.

Each channel sends one message to one address and returns a provider reference (the modem's
message references, Twilio's message SID, the SMTP server's reply), or raises
:class:`ChannelError` saying why it did not send and what that means for delivery
(``outcome``, see ``errors.py``): ``permanent`` (this channel will never take this message),
``transient`` (not sent; may work later) or ``unknown`` (the peer may have sent it). Every number
is E.164-checked here again, right before it leaves the process, and SMS text is cleaned of
control characters.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Protocol

import aiosmtplib
import requests
import requests.adapters

from controller.notifier import gsm7
from controller.notifier.errors import (
    ChannelError,
    modem_outcome,
    smtp_outcome,
    twilio_outcome,
)
from controller.notifier.rows import Message
from controller.notifier.settings import SmtpSettings, TwilioSettings

__all__ = [
    "Channel",
    "ChannelError",
    "EmailChannel",
    "ModemSmsChannel",
    "SmsModem",
    "TwilioSmsChannel",
]
from modem.e164 import InvalidNumber, validate_e164

if TYPE_CHECKING:
    from twilio.http import HttpClient


class Channel(Protocol):
    name: str

    def accepts(self, m: Message) -> bool:
        """Whether the message has an address this channel can use."""
        ...

    async def send(self, m: Message) -> str: ...


class SmsModem(Protocol):
    """What the ``modem_sms`` channel needs: ``modem.driver.Modem`` or the daemon's ``ModemDevice``;
    returns the network's message references."""

    async def send_sms(self, number: str, text: str, *, retry: bool = True) -> list[int]: ...


def _number(channel: str, m: Message) -> str:
    try:
        return validate_e164(m.mobile)
    except InvalidNumber as exc:
        raise ChannelError(channel, "recipient is not an E.164 number", "permanent") from exc


def _sms_text(m: Message) -> str:
    text = gsm7.clean(m.sms_text)
    if not text:
        raise ValueError("empty SMS")
    return text


class ModemSmsChannel:
    """SMS through our own GSM modem: works when the internet does not."""

    name = "modem_sms"

    def __init__(self, modem: SmsModem) -> None:
        self._modem = modem

    def accepts(self, m: Message) -> bool:
        return m.mobile is not None

    async def send(self, m: Message) -> str:
        number = _number(self.name, m)
        try:
            refs = await self._modem.send_sms(number, _sms_text(m), retry=False)
        except Exception as exc:  # the driver's errors are many: classified in errors.py
            reason = gsm7.clean(f"{type(exc).__name__}: {exc}")[:160]
            raise ChannelError(self.name, reason, modem_outcome(exc)) from exc
        # the send succeeded: whatever the driver returned must not turn it into a failure
        if isinstance(refs, list | tuple):
            return "mr:" + ",".join(str(r) for r in refs)
        return "mr:" + gsm7.clean(str(refs))[:40]


class TwilioSmsChannel:
    """SMS through Twilio's REST API. The client is synchronous, so it runs in a thread.

    ``http_client`` is the twilio library's own hook (a ``twilio.http.HttpClient``); by default
    the library's ``TwilioHttpClient`` with the configured timeout, proxy and CA. Edge and region
    go to ``Client`` as the library defines them (``api.<edge>.<region>.twilio.com``).
    """

    name = "twilio_sms"

    def __init__(self, settings: TwilioSettings, http_client: HttpClient | None = None) -> None:
        from twilio.rest import Client

        self._settings = settings
        self._client = Client(
            settings.account_sid,
            settings.token(),
            http_client=http_client or default_http_client(settings),
            edge=settings.edge,
            region=settings.region,
        )

    def accepts(self, m: Message) -> bool:
        return m.mobile is not None

    def _create(self, to: str, body: str) -> str:
        kwargs: dict[str, str] = {"to": to, "body": body}
        if self._settings.messaging_service_sid:
            kwargs["messaging_service_sid"] = self._settings.messaging_service_sid
        else:
            assert self._settings.from_number is not None
            kwargs["from_"] = validate_e164(self._settings.from_number)
        msg = self._client.messages.create(**kwargs)
        return str(msg.sid)

    async def send(self, m: Message) -> str:
        from twilio.base.exceptions import TwilioRestException

        number = _number(self.name, m)
        try:
            return await asyncio.to_thread(self._create, number, _sms_text(m))
        except TwilioRestException as exc:
            reason = f"HTTP {exc.status} code {exc.code}"
            raise ChannelError(self.name, reason, twilio_outcome(exc)) from exc
        except Exception as exc:  # requests' errors and the like (never the token: not in them)
            raise ChannelError(self.name, type(exc).__name__, twilio_outcome(exc)) from exc


def default_http_client(settings: TwilioSettings) -> HttpClient:
    """The library's client with our timeout, the proxy and the CA (no retries: ours decide)."""
    from twilio.http.http_client import TwilioHttpClient

    proxy = {"https": settings.proxy} if settings.proxy else None
    client = TwilioHttpClient(timeout=settings.timeout_s, proxy=proxy, max_retries=0)
    if settings.ca_file is not None:
        client.session = _TrustingSession(str(settings.ca_file))
    return client


class _TrustingSession(requests.Session):
    """A session that verifies against the configured CA even when the environment names
    another bundle (``REQUESTS_CA_BUNDLE`` would otherwise win over ``session.verify``)."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.verify = ca_file
        self.mount("https://", requests.adapters.HTTPAdapter(max_retries=0))

    def merge_environment_settings(
        self,
        url: str,
        proxies: dict[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> dict[str, object]:
        merged = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        merged["verify"] = self.verify
        return merged


class EmailChannel:
    """E-mail through an SMTP server (STARTTLS, implicit TLS or plain; optional AUTH)."""

    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self._s = settings

    def accepts(self, m: Message) -> bool:
        return m.email is not None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self._s.tls == "none":
            return None
        ctx = ssl.create_default_context(cafile=str(self._s.ca_file) if self._s.ca_file else None)
        return ctx

    def build(self, m: Message) -> EmailMessage:
        assert m.email is not None
        msg = EmailMessage()
        msg["From"] = self._s.sender
        msg["To"] = m.email
        msg["Subject"] = gsm7.clean(m.subject)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self._s.sender.rsplit("@", 1)[1])
        msg["X-Hotline-Key"] = gsm7.clean(m.key)
        msg.set_content(m.body)
        return msg

    async def send(self, m: Message) -> str:
        """Connect (greeting, TLS, AUTH) and then hand over the message: a failure before the
        message is handed over did not send it; a silence after it may have (``unknown``)."""
        s = self._s
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls == "implicit",
            start_tls=s.tls == "starttls",
            tls_context=self._tls_context(),
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            timeout=s.timeout_s,
        )
        data_sent = False
        try:
            await smtp.connect()
            try:
                data_sent = True
                errors, reply = await smtp.send_message(self.build(m))
            finally:
                with contextlib.suppress(Exception):
                    await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            outcome = smtp_outcome(exc, data_sent=data_sent)
            raise ChannelError(self.name, f"{type(exc).__name__}: {_safe(exc)}", outcome) from exc
        if errors:
            raise ChannelError(self.name, f"recipient refused: {sorted(errors)}", "permanent")
        return gsm7.clean(reply)[:120]


def _safe(exc: Exception) -> str:
    """An SMTP error's text, short; aiosmtplib never puts the password into it."""
    return gsm7.clean(str(exc))[:160]
