"""The call log: records the PBX's call events, keeps the callback list, alerts on missed calls.

A missed call goes on the callback list and the on-call technician (at the time of the call) gets
an SMS and an e-mail through the notifier's outbox; an answered call longer than
``notifier.calls.problematic_after_s`` is e-mailed for review. Both messages carry idempotency
keys derived from the call id, so a replayed webhook never alerts twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from controller.calls import model
from controller.calls.model import CallEvent, CallRecord, DailyStats
from controller.calls.store import Callback, CallStore, Stored
from controller.clock import Clock, utcnow
from controller.notifier import gsm7
from controller.notifier.incidents import Recipient
from controller.notifier.messages import duration, local, local_full
from controller.notifier.settings import CallsSettings
from logsafe import esc

if TYPE_CHECKING:
    from controller.notifier.service import Notifier

log = logging.getLogger("hotline.calls")


@dataclass(frozen=True, slots=True)
class Recorded:
    status: Stored  # new | completed | duplicate
    missed: bool = False
    callback_id: int | None = None
    problematic: bool = False


class CallLog:
    def __init__(
        self,
        store: CallStore,
        settings: CallsSettings,
        timezone: str,
        notifier: Notifier | None = None,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.settings = settings
        self.tz = timezone
        self.notifier = notifier
        self.clock = clock

    async def record(self, event: CallEvent) -> Recorded:
        """Store the event; act on what is new. A replay of a stored call changes nothing."""
        stored = self.store.put(CallRecord.from_event(event), self.clock())
        if stored == "duplicate":
            log.info("calls.duplicate call_id=%s", event.call_id)
            return Recorded("duplicate")
        call = self.store.get(event.call_id)
        assert call is not None
        result = Recorded(stored)
        if call.missed:
            cb = self.store.add_callback(call)
            result = Recorded(stored, missed=True, callback_id=cb.id if cb else None)
            if cb is not None:
                log.info(
                    "calls.missed call_id=%s line=%s callback=%d", call.call_id, call.line, cb.id
                )
                self._alert_missed(call, cb)
        elif self._is_long(call) and self.store.flag_long(call.call_id):
            result = Recorded(stored, problematic=True)
            log.info("calls.long call_id=%s line=%s", call.call_id, call.line)
            self._alert_long(call)
        return result

    def _is_long(self, c: CallRecord) -> bool:
        if c.answer is None or c.end is None:
            return False
        return c.end - c.start > timedelta(seconds=self.settings.problematic_after_s)

    def _caller(self, c: CallRecord) -> str:
        number = model.caller_number(c.caller)
        return number if number is not None else f"a {model.WITHHELD}"

    @staticmethod
    def _caller_line(c: CallRecord) -> str:
        """The e-mail's caller line: the normalised form, the raw value (escaped) beside it."""
        seen = model.CallerView.of(c.caller)
        if seen.raw is None or seen.raw == seen.caller:
            return seen.display
        return f"{seen.display} (as sent by the PBX: {gsm7.clean(seen.raw)})"

    def _alert_missed(self, c: CallRecord, cb: Callback) -> None:
        if self.notifier is None or not self.settings.notify_missed:
            return
        tech = self.notifier.oncall_recipient(c.start)
        wait = duration(c.wait or timedelta())
        sms = gsm7.fit(
            "HOTLINE missed call from ",
            f"{self._caller(c)} on {c.line}",
            f" at {local(c.start, self.tz)}, rang {wait}. Callback #{cb.id}: please call back.",
        )
        body = (
            "\n".join(
                [
                    f"A call to the hotline was not answered (callback #{cb.id}).",
                    "",
                    f"Caller:   {self._caller_line(c)}",
                    f"Line:     {c.line}",
                    f"Started:  {local_full(c.start, self.tz)}",
                    f"Rang for: {wait}",
                    f"Call id:  {c.call_id}",
                    "",
                    "Call back, then close the callback in the dashboard or with",
                    f"POST /v1/callbacks/{cb.id}/close (records who called back and when).",
                ]
            )
            + "\n"
        )
        self.notifier.outbox.enqueue(
            key=f"call/{c.call_id}/missed/{tech.label}",
            kind="missed_call",
            severity="warning",
            recipient=tech,
            sms_text=sms,
            subject=f"[hotline] missed call from {self._caller(c)}",
            body=body,
            email=True,
        )

    def _alert_long(self, c: CallRecord) -> None:
        if self.notifier is None:
            return
        targets = [Recipient(label=a, email=a) for a in self.settings.review_to]
        if not targets:
            targets = [self.notifier.oncall_recipient(c.start)]
        total = duration((c.end or c.start) - c.start)
        body = (
            "\n".join(
                [
                    f"A call lasted {total}, longer than the review threshold of "
                    f"{duration(timedelta(seconds=self.settings.problematic_after_s))}.",
                    "",
                    f"Caller:   {self._caller_line(c)}",
                    f"Line:     {c.line}",
                    f"Agent:    {gsm7.clean(esc(c.agent or '-'))}",
                    f"Started:  {local_full(c.start, self.tz)}",
                    f"Waited:   {duration(c.wait or timedelta())}",
                    f"Talked:   {duration(c.talk or timedelta())}",
                    f"Call id:  {c.call_id}",
                ]
            )
            + "\n"
        )
        for r in targets:
            self.notifier.outbox.enqueue(
                key=f"call/{c.call_id}/long/{r.label}",
                kind="long_call",
                severity="info",
                recipient=r,
                sms_text="",
                subject=f"[hotline] long call on {c.line}: {total}",
                body=body,
                sms=False,
                email=True,
            )

    # -- callbacks and statistics ----------------------------------------------------------

    def callbacks(self, open_only: bool = True) -> list[Callback]:
        return self.store.callbacks(open_only)

    def close_callback(
        self, callback_id: int, who: str, called_back_at: datetime | None = None, note: str = ""
    ) -> Callback | None:
        """Record who called back and when; None if unknown. Closing twice keeps the first."""
        now = self.clock()
        if self.store.close_callback(callback_id, who, called_back_at or now, note, now):
            log.info("calls.callback_closed id=%d by=%s", callback_id, esc(who))
        return self.store.callback(callback_id)

    def daily_stats(self, day: date | None = None) -> DailyStats:
        day = day or self.clock().astimezone(ZoneInfo(self.tz)).date()
        lo, hi = model.day_bounds(day, self.tz)
        return model.daily_stats(self.store.calls_between(lo, hi), day, self.tz)


def build_call_log(
    settings: CallsSettings,
    timezone: str,
    state_dir: Path,
    notifier: Notifier | None,
    *,
    clock: Clock = utcnow,
) -> CallLog:
    """The daemon's call log: ``state_dir/calls.sqlite3``, alerts through ``notifier``; ``clock``
    (UTC) for tests."""
    store = CallStore(Path(state_dir) / "calls.sqlite3")
    return CallLog(store, settings, timezone, notifier, clock=clock)
