"""Quiet hours, reminders and escalation on the nights a calendar makes hard.

Quiet hours 22:00-07:00 (local, wrapping midnight) on the nights of the DST changes (2026-03-29:
02:00 CET jumps to 03:00 CEST; 2026-10-25: 03:00 CEST falls back to 02:00 CET) and on New Year's
night; reminders and escalation timed by the injected clock across the same changes. Every
expected instant is written in UTC and would differ under UTC, a fixed offset or local wall-clock
arithmetic. The wall clock is sent elsewhere, so code that read it instead of the injected clock
would show.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from controller.notifier.incidents import quiet_until
from controller.notifier.settings import QuietHours
from controller.notifier.signal import Severity
from tests.notifier.helpers import Clock, MakeNotifier, RecordingChannel, lab_config, signal

TZ = lab_config().oncall.timezone
QUIET = QuietHours(span="22:00-07:00")  # no zone of its own: the on-call zone


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def wall_clock_elsewhere() -> Iterator[None]:
    with time_machine.travel(datetime(2031, 7, 15, 12, 0, tzinfo=UTC), tick=False):
        yield


def test_the_on_call_zone_is_prague() -> None:
    assert TZ == "Europe/Prague"


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # spring forward, the night of 2026-03-28/29: quiet ends 07:00 CEST = 05:00 UTC
        ("2026-03-28T20:59", None),  # 21:59 CET (UTC would say 20:59: also not quiet; CEST: 22:59)
        ("2026-03-28T21:00", "2026-03-29T05:00"),  # 22:00 CET
        ("2026-03-29T00:59", "2026-03-29T05:00"),  # 01:59 CET, a minute before the jump
        ("2026-03-29T01:00", "2026-03-29T05:00"),  # 03:00 CEST, right after it
        ("2026-03-29T04:59", "2026-03-29T05:00"),  # 06:59 CEST (CET would say 05:59, until 06:00)
        ("2026-03-29T05:00", None),  # 07:00 CEST: over (CET would say 06:00: still quiet)
        # fall back, the night of 2026-10-24/25: quiet ends 07:00 CET = 06:00 UTC
        ("2026-10-24T20:00", "2026-10-25T06:00"),  # 22:00 CEST (UTC: 20:00, not quiet)
        ("2026-10-25T00:30", "2026-10-25T06:00"),  # 02:30 CEST, the first time
        ("2026-10-25T01:30", "2026-10-25T06:00"),  # 02:30 CET, the second time
        ("2026-10-25T05:59", "2026-10-25T06:00"),  # 06:59 CET (CEST would say 07:59: over)
        ("2026-10-25T05:30", "2026-10-25T06:00"),  # 06:30 CET (UTC: 05:30, until 07:00 UTC)
        ("2026-10-25T06:00", None),  # 07:00 CET
        # New Year's night: the span ends in another year
        ("2026-12-31T20:59", None),  # 21:59 CET
        ("2026-12-31T21:00", "2027-01-01T06:00"),  # 22:00 CET on 31 December (UTC: 21:00)
        ("2026-12-31T23:00", "2027-01-01T06:00"),  # 00:00 CET, 1 January 2027
        ("2027-01-01T05:59", "2027-01-01T06:00"),  # 06:59 CET (UTC: 05:59 would end at 07:00)
        ("2027-01-01T06:00", None),  # 07:00 CET (UTC: 06:00, still quiet)
    ],
)
def test_quiet_hours_across_midnight_at_dst_changes_and_new_year(
    now: str, until: str | None
) -> None:
    held = quiet_until(QUIET, "info", utc(now), TZ)
    assert held == (None if until is None else utc(until))
    assert quiet_until(QUIET, "critical", utc(now), TZ) is None  # never holds a critical alert


async def test_new_years_night_holds_info_until_seven_local(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms},
        quiet_hours={"span": "22:00-07:00", "severities": ["info"]},
        escalation_timeout_s=0,
        reminder_interval_s=0,
    )
    clock.now = utc("2026-12-31T21:30")  # 22:30 CET on New Year's Eve
    await n.signal(signal(key="quorum", severity=Severity.INFO, summary="slow", at=clock.now))
    await n.signal(signal(at=clock.now))
    await n.run_once()
    assert [m.severity for m in sms.sent] == ["critical"]
    (held,) = [r for r in n.store.outbox() if r.state == "pending"]
    assert held.message.severity == "info" and held.next_at == utc("2027-01-01T06:00")
    clock.now = utc("2027-01-01T05:59")  # 06:59 CET
    await n.run_once()
    assert len(sms.sent) == 1
    clock.now = utc("2027-01-01T06:00")  # 07:00 CET
    await n.run_once()
    assert [m.severity for m in sms.sent] == ["critical", "info"]


async def test_reminder_is_due_by_elapsed_time_when_the_clocks_fall_back(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, reminder_interval_s=1800, escalation_timeout_s=0)
    clock.now = utc("2026-10-25T00:50")  # 02:50 CEST
    await n.signal(signal(at=clock.now))
    await n.run_once()
    assert [(m.kind, m.recipient) for m in sms.sent] == [("open", "bob")]
    assert "Since 02:50 CEST" in sms.sent[0].sms_text
    clock.advance(1799)
    await n.run_once()
    assert len(sms.sent) == 1
    clock.advance(1)  # 01:20 UTC = 02:20 CET: half an hour later, though the wall clock says less
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "remind1"]
    assert sms.sent[1].sms_text.startswith("HOTLINE REMINDER #1 open since 02:50 CEST: ")


async def test_escalation_is_due_by_elapsed_time_when_the_clocks_spring_forward(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=600, reminder_interval_s=0)
    clock.now = utc("2026-03-29T00:55")  # 01:55 CET; bob is on call this week
    await n.signal(signal(at=clock.now))
    await n.run_once()
    clock.advance(599)  # 03:04:59 CEST: the wall clock says 70 minutes, only 9:59 went by
    await n.run_once()
    assert [m.recipient for m in sms.sent] == ["bob"]
    clock.advance(1)
    await n.run_once()
    assert [(m.kind, m.recipient) for m in sms.sent] == [("open", "bob"), ("escalate1", "alice")]
    esc = sms.sent[1].sms_text
    assert "ESCALATED to you, no ACK from bob" in esc and "Since 01:55 CET" in esc
    (when,) = [at for at, what in n.store.timeline(1) if what.startswith("escalated to alice")]
    assert when == utc("2026-03-29T01:05")


async def test_reminders_run_on_the_injected_clock_into_the_new_year(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, reminder_interval_s=1800, escalation_timeout_s=0)
    clock.now = utc("2026-12-31T22:45")  # 23:45 CET on New Year's Eve
    await n.signal(signal(at=clock.now))
    await n.run_once()
    clock.now = utc("2026-12-31T23:14:59")
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open"]
    clock.now = utc("2026-12-31T23:15")  # 00:15 CET on 1 January 2027
    await n.run_once()
    clock.now = utc("2026-12-31T23:45")
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "remind1", "remind2"]
    # shown in the on-call zone: 22:45 in UTC, and the 31st although it is now 2027 there
    assert sms.sent[2].sms_text.startswith("HOTLINE REMINDER #1 open since 23:45 CET: ")
    inc = n.store.incidents()[0]
    assert inc.reminders == 2 and inc.last_reminded_at == utc("2026-12-31T23:45")
