"""Alerts: incidents opened and resolved by the controller's signals, sent by SMS and e-mail.

``build_notifier`` is imported lazily so that ``controller.config`` may import
``controller.notifier.settings`` without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twilio.http import HttpClient

    from controller.clock import Clock
    from controller.config import HotlineConfig
    from controller.notifier.channels import SmsModem
    from controller.notifier.service import Notifier
    from controller.notifier.shared import SharedDocs

__all__ = ["build_notifier"]


def build_notifier(
    cfg: HotlineConfig,
    *,
    modem: SmsModem | None,
    state_dir: Path,
    twilio_http_client: HttpClient | None = None,
    clock: Clock | None = None,
    is_leader: Callable[[], bool] | None = None,
    shared: SharedDocs | None = None,
) -> Notifier:
    """The daemon's notifier: channels from ``cfg.notifier``, outbox in ``state_dir``.

    ``modem`` sends SMS (``modem.driver.Modem`` or the daemon's ``ModemDevice``); without it the
    ``modem_sms`` channel is skipped and the next channel is used. Incoming SMS (``ACK <code>``
    replies) reach ``Notifier.handle_incoming_sms`` from the daemon. ``is_leader``: reminders
    and escalation run only while it answers True (queued messages are delivered regardless).
    ``twilio_http_client`` is the twilio library's HTTP-client hook and ``clock`` a UTC clock
    (both for tests). ``shared`` is the coordinator (its ``get``/``put`` of JSON documents):
    open incidents are kept there for the next leader.
    """
    from controller.clock import utcnow
    from controller.notifier.channels import (
        Channel,
        EmailChannel,
        ModemSmsChannel,
        TwilioSmsChannel,
    )
    from controller.notifier.service import Notifier
    from controller.notifier.settings import NotifierSettings
    from controller.notifier.store import NotifierStore

    settings: NotifierSettings = getattr(cfg, "notifier", None) or NotifierSettings()
    channels: dict[str, Channel] = {}
    if modem is not None:
        if not callable(getattr(modem, "send_sms", None)):
            raise TypeError("modem has no send_sms()")
        channels["modem_sms"] = ModemSmsChannel(modem)
    if settings.twilio is not None:
        channels["twilio_sms"] = TwilioSmsChannel(settings.twilio, twilio_http_client)
    if settings.smtp is not None:
        channels["email"] = EmailChannel(settings.smtp)
    store = NotifierStore(Path(state_dir) / "notifier.sqlite3")
    notifier = Notifier(cfg, settings, store, channels, is_leader=is_leader, clock=clock or utcnow)
    if shared is not None:
        from controller.notifier.shared import SharedIncidents

        notifier.shared = SharedIncidents(shared)
    return notifier
