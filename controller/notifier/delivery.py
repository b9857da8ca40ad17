"""Draining the outbox: rate limits, channels in order, retries with backoff.

One message (incident, transition, recipient) is tried on each allowed channel in turn; the first
that sends wins. A channel that *reports* failure did not send, so the next one is tried; when all
fail the message is retried later with exponential backoff, up to ``retry.max_attempts`` rounds.
A send that times out is counted as failed too: for the modem that may rarely mean the SMS did go
out and a later channel sends it again; losing an alert is the worse error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from controller.clock import Clock
from controller.notifier.channels import Channel, ChannelError
from controller.notifier.incidents import backoff_s
from controller.notifier.rows import OutboxRow
from controller.notifier.settings import NotifierSettings
from controller.notifier.store import NotifierStore

log = logging.getLogger("hotline.notifier")


def mask(address: str | None) -> str:
    """A number or address for the logs: enough to recognise, not enough to harvest."""
    if not address:
        return "-"
    if "@" in address:
        user, _, domain = address.partition("@")
        return f"{user[:1]}***@{domain}"
    if address.startswith("+") or address.isdigit():
        return address[:4] + "***" + address[-3:] if len(address) > 7 else "***"
    return address  # a technician's name


def _reason(exc: Exception) -> str:
    if isinstance(exc, ChannelError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return "timeout"
    log.error("notifier.channel_bug error=%s", type(exc).__name__, exc_info=exc)
    return f"internal error: {type(exc).__name__}"


class Deliverer:
    def __init__(
        self,
        store: NotifierStore,
        channels: Mapping[str, Channel],
        settings: NotifierSettings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._clock = clock

    async def deliver_due(self, limit: int = 50, stopping: asyncio.Event | None = None) -> int:
        """Send every message due (at most ``limit``); returns how many went out."""
        sent = 0
        for row in self._store.due(self._clock(), limit):
            if stopping is not None and stopping.is_set():
                break
            if self._rate_limited(row):
                continue
            sent += await self._deliver(row)
        return sent

    def _rate_limited(self, row: OutboxRow) -> bool:
        now = self._clock()
        cap = self._settings.rate_limit_per_hour
        recent = self._store.sent_since(row.message.recipient, now - timedelta(hours=1))
        if len(recent) < cap:
            return False
        until = recent[len(recent) - cap] + timedelta(hours=1)
        self._store.defer(row.id, until)
        log.warning(
            "notifier.rate_limited key=%s recipient=%s until=%s",
            row.message.key,
            mask(row.message.recipient),
            until.isoformat(),
        )
        return True

    async def _deliver(self, row: OutboxRow) -> int:
        """Try each allowed channel in order; the first that sends wins."""
        m = row.message
        errors: list[str] = []
        for name in m.channels:
            ch = self._channels.get(name)
            if ch is None or not ch.accepts(m):
                continue
            attempt = self._store.begin_send(row.id, name, self._clock())
            if attempt is None:
                return 0
            try:
                ref = await asyncio.wait_for(ch.send(m), self._settings.send_timeout_s)
            except Exception as exc:  # a bug in a channel must not leave the row "sending"
                reason = _reason(exc)
                self._store.channel_failed(row.id, attempt, reason, self._clock())
                errors.append(f"{name}: {reason}")
                log.warning(
                    "notifier.channel_failed key=%s channel=%s reason=%s", m.key, name, reason
                )
                continue
            self._store.sent(row.id, attempt, ref, self._clock())
            log.info(
                "notifier.sent key=%s recipient=%s channel=%s ref=%s",
                m.key,
                mask(m.recipient),
                name,
                ref,
            )
            return 1
        self._round_failed(row, errors or ["no usable channel for this recipient"])
        return 0

    def _round_failed(self, row: OutboxRow, errors: list[str]) -> None:
        attempts = row.attempts + 1
        retry = self._settings.retry
        next_at = None
        if attempts < retry.max_attempts:
            next_at = self._clock() + timedelta(seconds=backoff_s(attempts, retry))
        self._store.round_failed(row.id, attempts, next_at, "; ".join(errors))
        log.warning(
            "notifier.delivery_failed key=%s attempts=%d next=%s errors=%s",
            row.message.key,
            attempts,
            next_at.isoformat() if next_at else "gave-up",
            "; ".join(errors),
        )
