"""Draining the outbox: one lane per channel, each with its own worker, rate limits, backoff.

A message waits on one channel at a time (its cursor; the rules are in ``routing.py``). Each
channel's lane sends its own due messages one after another, and the lanes run concurrently, so
an SMTP server that accepts and never answers delays no SMS. A failure moves the message to its
next channel at once and wakes that lane: a modem refusal reaches Twilio in well under a second.
Nothing is given up before ``retry.max_age_s``; a message that no channel can carry (every one
refused it for good, or it grew too old) is *undeliverable*: it is counted, logged and reported
through ``on_undeliverable`` (the notifier tells the recipient on the other channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from controller.clock import Clock
from controller.notifier.channels import Channel
from controller.notifier.errors import ChannelError
from controller.notifier.incidents import backoff_s
from controller.notifier.routing import Progress, Result, after, first_cursor
from controller.notifier.rows import Message, OutboxRow
from controller.notifier.settings import NotifierSettings
from controller.notifier.store import NotifierStore
from logsafe import esc

log = logging.getLogger("hotline.notifier")

Undeliverable = Callable[[OutboxRow, str], None]
PASS_S = 5.0  # at most this long a channel is passed over after a transient failure


def mask(address: str | None) -> str:
    """A number or address for the logs: enough to recognise, not enough to harvest."""
    if not address:
        return "-"
    if "@" in address:
        user, _, domain = address.partition("@")
        return f"{esc(user[:1])}***@{esc(domain, 80)}"
    if address.startswith("+") or address.isdigit():
        return address[:4] + "***" + address[-3:] if len(address) > 7 else "***"
    return esc(address, 80)  # a technician's name (or an SMS sender's alphanumeric id)


def usable(channels: Mapping[str, Channel], m: Message) -> list[str]:
    """The message's channels that exist here and have an address for it, in its order."""
    return [c for c in m.channels if c in channels and channels[c].accepts(m)]


def _result(exc: Exception) -> tuple[Result, str]:
    if isinstance(exc, ChannelError):
        return exc.outcome, exc.reason
    if isinstance(exc, TimeoutError):
        return "unknown", "no answer within send_timeout_s"
    log.error("notifier.channel_bug error=%s", type(exc).__name__, exc_info=exc)
    return "transient", f"internal error: {type(exc).__name__}"


@dataclass(slots=True)
class DeliveryMetrics:
    """Counters for /metrics (``controller.metrics.notifier``)."""

    sent: dict[str, int] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    undeliverable: int = 0


class Deliverer:
    def __init__(
        self,
        store: NotifierStore,
        channels: Mapping[str, Channel],
        settings: NotifierSettings,
        clock: Clock,
        on_undeliverable: Undeliverable | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self._clock = clock
        self.on_undeliverable = on_undeliverable
        self.metrics = DeliveryMetrics()
        self._wakes = {name: asyncio.Event() for name in channels}
        # A channel that just failed transiently (no network, a refused connection) is passed
        # over until then: the messages queued behind it fall through at once, not one by one.
        self._down: dict[str, tuple[datetime, str]] = {}
        self._busy: dict[str, datetime] = {}  # channel → since when its lane is sending

    def wake(self, channel: str | None = None) -> None:
        """Let ``channel``'s lane (or every lane) look for due messages now."""
        for name, ev in self._wakes.items():
            if channel is None or name == channel:
                ev.set()

    # -- passes ----------------------------------------------------------------------------

    async def deliver_due(self, limit: int = 50, stopping: asyncio.Event | None = None) -> int:
        """Every lane drains what is due, concurrently, until nothing is due (bounded: each
        fall-through can move a message only along its channel list). Returns messages sent."""
        total = 0
        for _ in range(2 * len(self._channels) + 2):
            self.sweep()
            now = self._clock()
            lanes = [c for c in self._channels if self._store.due(now, 1, c)]
            if not lanes or (stopping is not None and stopping.is_set()):
                break
            sent = await asyncio.gather(*(self.drain(c, limit, stopping) for c in lanes))
            total += sum(sent)
        return total

    async def run_lane(self, channel: str, stopping: asyncio.Event) -> None:
        """One channel's worker: drain, then sleep until woken or the next poll."""
        wake = self._wakes[channel]
        while not stopping.is_set():
            wake.clear()
            try:
                await self.drain(channel, 50, stopping)
            except Exception:
                log.exception("notifier.lane_error channel=%s", channel)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._sleep_s(channel))

    def _sleep_s(self, channel: str) -> float:
        """Until this lane's next message is due (a grouping delay, a backoff), at most a poll."""
        poll = self._settings.poll_interval_s
        nxt = self._store.next_due_at(channel)
        if nxt is None:
            return poll
        return max(0.0, min(poll, (nxt - self._clock()).total_seconds()))

    async def drain(self, channel: str, limit: int, stopping: asyncio.Event | None = None) -> int:
        sent = 0
        for row in self._store.due(self._clock(), limit, channel):
            if stopping is not None and stopping.is_set():
                break
            if self._rate_limited(row):
                continue
            down = self._down.get(channel)
            if down is not None and down[0] > self._clock():
                self._failed(row, channel, None, "transient", f"passed over ({down[1]})")
                continue
            sent += await self._attempt(row, channel)
        return sent

    # -- housekeeping ----------------------------------------------------------------------

    def sweep(self) -> None:
        """Give rows without a usable cursor one, expire rows older than ``max_age_s``, and
        hand a message stuck behind a busy lane for ``lane_wait_s`` to its next channel."""
        now = self._clock()
        max_age = timedelta(seconds=self._settings.retry.max_age_s)
        wait = timedelta(seconds=self._settings.lane_wait_s)
        for row in self._store.due(now, 500):
            m = row.message
            if now - row.created_at > max_age:
                self._final(row, "failed", f"expired after {max_age} ({row.last_error or '-'})")
                continue
            busy = row.cursor is not None and row.cursor in self._busy
            if busy and wait and now - row.next_at >= wait and self._has_next(row):
                assert row.cursor is not None
                self._failed(row, row.cursor, None, "transient", f"waited {wait} behind the lane")
                continue
            if row.cursor in self._channels and row.cursor in usable(self._channels, m):
                continue
            p = Progress(row.tried, row.dead, row.unknown_on)
            cursor = first_cursor(m.channels, usable(self._channels, m), p)
            if cursor is None:
                self._final(row, "failed", row.last_error or "no usable channel for this recipient")
            else:
                self._store.settle(
                    row.id,
                    "pending",
                    cursor=cursor,
                    progress=p,
                    attempts=row.attempts,
                    next_at=row.next_at,
                    error=row.last_error,
                )

    def _has_next(self, row: OutboxRow) -> bool:
        p = Progress(row.tried | {row.cursor or ""}, row.dead, row.unknown_on)
        left = [c for c in usable(self._channels, row.message) if c not in p.dead]
        return any(c not in p.tried and c != p.unknown_on for c in left)

    def _final(self, row: OutboxRow, state: str, why: str) -> None:
        p = Progress(row.tried, row.dead, row.unknown_on)
        self._store.settle(
            row.id,
            state,
            cursor=None,
            progress=p,
            attempts=row.attempts,
            next_at=row.next_at,
            error=why,
        )
        if state == "failed":
            self._undeliverable(row, why)

    def _undeliverable(self, row: OutboxRow, why: str) -> None:
        self.metrics.undeliverable += 1
        log.error(
            "notifier.undeliverable key=%s recipient=%s reason=%s",
            row.message.key,
            mask(row.message.recipient),
            esc(why),  # a channel's reason can quote its peer (SMTP server, Twilio)
        )
        if self.on_undeliverable is not None:
            try:
                self.on_undeliverable(row, why)
            except Exception:
                log.exception("notifier.undeliverable_notice_failed key=%s", row.message.key)

    # -- one attempt -----------------------------------------------------------------------

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

    async def _attempt(self, row: OutboxRow, name: str) -> int:
        ch = self._channels[name]
        attempt = self._store.begin_send(row.id, name, self._clock())
        if attempt is None:
            return 0  # cancelled or handed to another channel since it was read
        row = self._store.row(row.id) or row  # the text as now (an upgrade in place)
        m = row.message
        self._busy[name] = self._clock()
        try:
            ref = await asyncio.wait_for(ch.send(m), self._settings.send_timeout_s)
        except Exception as exc:  # a bug in a channel must not leave the row "sending"
            result, reason = _result(exc)
            self._failed(row, name, attempt, result, reason)
            return 0
        finally:
            self._busy.pop(name, None)
        self._store.sent(row.id, attempt, ref, self._clock())
        self._down.pop(name, None)
        self.metrics.sent[name] = self.metrics.sent.get(name, 0) + 1
        if self._store.expedite(name, self._clock()):
            self.wake(name)  # it works (again): what waits on it after a failure goes now
        log.info(
            "notifier.sent key=%s recipient=%s channel=%s ref=%s",
            m.key,
            mask(m.recipient),
            name,
            ref,
        )
        return 1

    def interrupted(self, row: OutboxRow) -> str | None:
        """A send that a crash cut off (the row was left ``sending``): an unknown outcome, as if
        the channel had taken it and never answered. One copy goes out on the next channel,
        never again on this one (``routing.py``); without another, the row stays ``unknown``.
        Returns the channel of that copy, if any."""
        name = row.channel or row.cursor
        if name is None:
            return None
        m = row.message
        p = Progress(row.tried, row.dead, row.unknown_on)
        nxt = after(m.channels, usable(self._channels, m), p, name, "unknown")
        if nxt.state != "pending" or nxt.cursor is None:
            return None
        with self._store.transaction():
            self._store.settle(
                row.id,
                nxt.state,
                cursor=nxt.cursor,
                progress=nxt.progress,
                attempts=row.attempts,
                next_at=self._clock(),
                error=f"{name}: interrupted while sending; one copy on {nxt.cursor}",
            )
        return nxt.cursor

    def _failed(
        self, row: OutboxRow, name: str, attempt: int | None, result: Result, why: str
    ) -> None:
        """After a failed attempt (or, ``attempt`` None, a pass over a channel that is down)."""
        now = self._clock()
        m = row.message
        if attempt is not None:
            key = (name, result)
            self.metrics.failures[key] = self.metrics.failures.get(key, 0) + 1
            if result == "transient":
                hold = timedelta(seconds=min(self._settings.retry.initial_backoff_s, PASS_S))
                self._down[name] = (now + hold, why)
        p = Progress(row.tried, row.dead, row.unknown_on)
        nxt = after(m.channels, usable(self._channels, m), p, name, result)
        attempts = row.attempts + (1 if nxt.backoff else 0)
        next_at = now
        if nxt.backoff:
            next_at = now + timedelta(seconds=backoff_s(attempts, self._settings.retry))
        error = f"{name}: {why}"
        with self._store.transaction():
            if attempt is not None:
                self._store.attempt_failed(attempt, result, why, now)
            self._store.settle(
                row.id,
                nxt.state,
                cursor=nxt.cursor,
                progress=nxt.progress,
                attempts=attempts,
                next_at=next_at,
                error=error,
            )
        log.warning(
            "notifier.channel_failed key=%s channel=%s outcome=%s reason=%s next=%s at=%s",
            m.key,
            name,
            result,
            esc(why),
            nxt.cursor or nxt.state,
            next_at.isoformat(),
        )
        if nxt.cursor is not None:
            self.wake(nxt.cursor)
        if nxt.state == "failed":
            self._undeliverable(row, error)
