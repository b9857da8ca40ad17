"""What a channel's failure means for delivery: permanent, transient or unknown outcome.

- ``permanent``: this channel will never take this message (a number the network or Twilio
  rejects, a mailbox the server refuses with 5xx). Not retried on that channel.
- ``transient``: not sent, may work later (no network service, 429, 5xx, a refused or lost
  connection, SMTP 4xx). The message falls through to the next channel at once and comes back
  to this one after a backoff.
- ``unknown``: the peer took the message and never answered (the modem accepted +CMGS and gave no
  final result, Twilio's read timed out, the SMTP server went silent after the data). It may have
  been delivered: the one second copy the delivery rules allow goes out on another channel.

Sources: 3GPP TS 27.005 §3.2.5 (+CMS ERROR codes), Twilio's REST errors (HTTP status and code of
``TwilioRestException``), RFC 5321 §4.2.1 (reply codes: 4yz transient, 5yz permanent).
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["permanent", "transient", "unknown"]

# +CMS ERROR codes that belong to the message or its recipient, not to the modem's state.
PERMANENT_CMS = frozenset({1, 8, 10, 21, 28, 29, 30, 50, 69, 96, 304, 305})
# Twilio error codes that no retry can fix (bad 'To', unreachable/blocked destination, ...).
PERMANENT_TWILIO_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21617, 30003, 30005})


class ChannelError(Exception):
    """A channel could not send; ``reason`` is safe to log (no secrets, no message text)."""

    def __init__(self, channel: str, reason: str, outcome: Outcome = "transient") -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.outcome: Outcome = outcome


def modem_outcome(exc: BaseException) -> Outcome:
    """A driver error on +CMGS. A timeout means the modem may have sent it; an SMS error code
    about the recipient is permanent; the rest (no network, SIM busy, port gone) is transient."""
    from modem.e164 import InvalidNumber
    from modem.errors import ModemError, ModemTimeout, ModemUnavailable

    if isinstance(exc, ModemTimeout | TimeoutError):
        return "unknown"
    if isinstance(exc, InvalidNumber):
        return "permanent"
    if isinstance(exc, ModemUnavailable):
        return "transient"
    if isinstance(exc, ModemError) and exc.kind == "cms" and exc.code in PERMANENT_CMS:
        return "permanent"
    return "transient"


def twilio_status_outcome(status: int, code: int | None) -> Outcome:
    """A Twilio REST error by HTTP status (and Twilio's own code for a 400)."""
    if status == 429 or status >= 500:
        return "transient"
    if code in PERMANENT_TWILIO_CODES or 400 <= status < 500:
        return "permanent"
    return "transient"


def twilio_outcome(exc: BaseException) -> Outcome:
    """Any exception out of ``client.messages.create``."""
    import requests
    from twilio.base.exceptions import TwilioRestException

    if isinstance(exc, TwilioRestException):
        return twilio_status_outcome(int(exc.status), exc.code)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "transient"  # never reached Twilio
    if isinstance(exc, requests.exceptions.ReadTimeout | requests.exceptions.ChunkedEncodingError):
        return "unknown"  # the request went out; the answer did not come back
    if isinstance(exc, TimeoutError):
        return "unknown"
    return "transient"


def smtp_outcome(exc: BaseException, *, data_sent: bool) -> Outcome:
    """An SMTP failure; ``data_sent``: the message body had been handed to the server."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPSenderRefused):
        return "permanent" if _code(exc) >= 500 else "transient"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return "permanent" if 500 <= exc.code < 600 else "transient"
    if data_sent and isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return "unknown"
    return "transient"


def _code(exc: BaseException) -> int:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    recipients = getattr(exc, "recipients", None) or []
    codes = [getattr(r, "code", 0) for r in recipients]
    return min((c for c in codes if isinstance(c, int)), default=0)
