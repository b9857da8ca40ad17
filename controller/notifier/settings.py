"""The ``notifier:`` section of the configuration (channels, SMTP, Twilio, timing, recipients).

Kept apart from ``controller.config`` so the notifier's settings live beside the code that reads
them; ``HotlineConfig.notifier`` embeds :class:`NotifierSettings`. This module must not import
``controller.config`` (that module imports this one). The default is "SMS through the modem to the
on-call technician", which needs no further settings, so existing configuration files stay valid.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from modem.e164 import E164, is_e164

ChannelName = Literal["modem_sms", "twilio_sms", "email"]
SeverityName = Literal["critical", "warning", "info"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def is_email(value: str) -> bool:
    return _EMAIL.match(value) is not None


class SmtpSettings(_Model):
    host: str = Field(min_length=1)
    port: int = Field(default=587, gt=0, lt=65536)
    tls: Literal["starttls", "implicit", "none"] = Field(
        default="starttls", description="starttls (587), implicit TLS (465) or none (local relay)"
    )
    username: str | None = None
    password: SecretStr | None = Field(default=None, description="never logged")
    sender: str = Field(alias="from", description="the From address")
    ca_file: Path | None = Field(default=None, description="trust this CA (e.g. a private relay)")
    timeout_s: float = Field(default=20.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not is_email(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


class TwilioSettings(_Model):
    """What ``twilio.rest.Client`` takes. The auth token comes from the file, the environment
    variable or (discouraged) the config itself; it is never logged. ``proxy`` (or the standard
    ``HTTPS_PROXY`` environment variable, which the library's ``requests`` session honours) sends
    the API calls through an HTTPS proxy; ``ca_file`` trusts a private CA (a TLS-inspecting
    proxy)."""

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = Field(default=None, description="never logged")
    auth_token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    auth_token_file: Path | None = None
    from_number: E164 | None = None
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    edge: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$", description="e.g. dublin")
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$", description="e.g. ie1")
    proxy: str | None = Field(default=None, pattern=r"^https?://", description="HTTPS proxy URL")
    ca_file: Path | None = None
    timeout_s: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _one_sender(self) -> TwilioSettings:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("give exactly one of from_number and messaging_service_sid")
        given = [self.auth_token, self.auth_token_env, self.auth_token_file]
        if sum(x is not None for x in given) != 1:
            raise ValueError("give exactly one of auth_token, auth_token_env, auth_token_file")
        return self

    def token(self) -> str:
        """The auth token from wherever the config says (read when the channel is built)."""
        import os

        if self.auth_token is not None:
            return self.auth_token.get_secret_value()
        if self.auth_token_env is not None:
            value = os.environ.get(self.auth_token_env, "")
            if not value:
                raise ValueError(f"environment variable {self.auth_token_env} is not set")
            return value
        assert self.auth_token_file is not None
        return self.auth_token_file.read_text().strip()


class QuietHours(_Model):
    """Hold low-severity messages during a span of local time (it may wrap midnight)."""

    span: str = Field(description="HH:MM-HH:MM, e.g. 22:00-07:00")
    timezone: str | None = Field(default=None, description="default: oncall.timezone")
    severities: tuple[SeverityName, ...] = ("info",)

    @field_validator("span")
    @classmethod
    def _span(cls, value: str) -> str:
        m = _SPAN.match(value)
        if not m or m.group(1, 2) == m.group(3, 4):
            raise ValueError(f"not a time span HH:MM-HH:MM: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone: {value!r}") from exc
        return value


class Retry(_Model):
    """A message is retried (capped backoff) until delivered on some channel or ``max_age_s``
    old; ``max_attempts`` is kept for old configs and no longer gives up a message."""

    max_attempts: int = Field(default=6, ge=1, le=100)
    initial_backoff_s: float = Field(default=5.0, gt=0)
    max_backoff_s: float = Field(
        default=60.0, gt=0, description="a recovered channel is found within this"
    )
    max_age_s: float = Field(default=86400.0, gt=0, description="then: undeliverable")


class CallsSettings(_Model):
    problematic_after_s: float = Field(default=300.0, gt=0, description="flag longer calls")
    notify_missed: bool = True
    review_to: tuple[str, ...] = Field(
        default=(), description="e-mails for problematic calls; default: the on-call technician"
    )

    @field_validator("review_to")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for v in value:
            if not is_email(v):
                raise ValueError(f"not an e-mail address: {v!r}")
        return value


class NotifierSettings(_Model):
    enabled: bool = True
    channels: tuple[ChannelName, ...] = Field(
        default=("modem_sms",), min_length=1, description="tried in order; a failure falls through"
    )
    email_copy: bool = Field(
        default=True, description="also e-mail the detail and timeline (when smtp is set)"
    )
    smtp: SmtpSettings | None = None
    twilio: TwilioSettings | None = None
    reminder_interval_s: float = Field(default=1800.0, ge=0, description="0: no reminders")
    escalation_timeout_s: float = Field(default=900.0, ge=0, description="0: no escalation")
    subscribers: dict[SeverityName, tuple[str, ...]] = Field(
        default_factory=dict, description="per severity: E.164 numbers or e-mail addresses"
    )
    quiet_hours: QuietHours | None = None
    rate_limit_per_hour: int = Field(default=30, ge=1, description="messages per recipient")
    retry: Retry = Retry()
    send_timeout_s: float = Field(default=90.0, gt=0, description="one channel, one message")
    poll_interval_s: float = Field(default=1.0, gt=0)
    calls: CallsSettings = CallsSettings()
    language: str = Field(default="en", description="texts for technicians not in languages")
    languages: dict[str, str] = Field(default_factory=dict, description="technician → language")
    templates: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per language: template keys to override"
    )
    transliterate: bool = Field(
        default=False, description="strip diacritics so a text stays GSM-7 (one SMS)"
    )
    lane_wait_s: float = Field(
        default=2.0, ge=0, description="behind a busy channel this long: the next channel (0: no)"
    )
    group_delay_s: float = Field(
        default=0.5, ge=0, le=30, description="a non-critical opening waits for its outage"
    )

    @field_validator("subscribers")
    @classmethod
    def _addresses(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for addrs in value.values():
            for a in addrs:
                if not (is_e164(a) or is_email(a)):
                    raise ValueError(f"neither an E.164 number nor an e-mail address: {a!r}")
        return value

    @model_validator(mode="after")
    def _languages_known(self) -> NotifierSettings:
        from controller.notifier.texts import builtin_languages

        known = set(builtin_languages()) | set(self.templates)
        for who, lang in {"notifier.language": self.language, **self.languages}.items():
            if lang not in known:
                raise ValueError(f"{who}: no templates for language {lang!r} ({sorted(known)})")
        return self

    @model_validator(mode="after")
    def _channels_configured(self) -> NotifierSettings:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel is listed twice")
        if "twilio_sms" in self.channels and self.twilio is None:
            raise ValueError("channel twilio_sms needs a twilio: section")
        if "email" in self.channels and self.smtp is None:
            raise ValueError("channel email needs an smtp: section")
        return self
