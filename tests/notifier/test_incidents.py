"""Incidents end to end through the Notifier, with recording channels and a settable clock."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from controller.decide.schedule import on_call
from controller.metrics import render_text
from controller.notifier import gsm7
from controller.notifier.service import IncidentResolved
from controller.notifier.signal import Severity
from tests.notifier.helpers import T0, Clock, MakeNotifier, RecordingChannel, lab_config, signal


def test_the_fixture_clock_puts_alice_on_call() -> None:
    assert on_call(lab_config().oncall, T0).name == "alice"


async def test_one_message_when_opened_and_one_when_resolved(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, reminder_interval_s=0, escalation_timeout_s=0)
    for _ in range(3):  # the loop repeats an active signal every cycle: still one incident
        await n.signal(signal())
        await n.run_once()
        clock.advance(5)
    assert [m.recipient for m in sms.sent] == ["alice"]
    opened = sms.sent[0]
    inc = n.store.incidents()[0]
    assert opened.mobile == "+420777000001"
    assert opened.sms_text.startswith(f"HOTLINE CRITICAL #{inc.id}: DOWN: primary SIP trunk")
    assert "Calls go to YOUR mobile." in opened.sms_text and "Check trunk-a." in opened.sms_text
    assert "Since 13:00 CET" in opened.sms_text
    assert opened.sms_text.endswith(f"Reply ACK {inc.code}")
    assert gsm7.is_gsm7(opened.sms_text) and gsm7.sms_units(opened.sms_text) <= 160

    await n.signal(signal(active=False, summary="primary line back", at=clock.now))
    await n.run_once()
    await n.signal(signal(active=False, summary="primary line back", at=clock.now))
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "resolve"]
    resolved = f"HOTLINE RESOLVED #{inc.id}: calls back on the primary line. Open 13:00 CET"
    assert sms.sent[1].sms_text.startswith(resolved)
    assert n.store.incident(inc.id).state == "resolved"  # type: ignore[union-attr]

    await n.signal(signal(at=clock.now))  # the same condition again: a new incident
    await n.run_once()
    assert len(n.store.incidents()) == 2 and len(sms.sent) == 3


async def test_long_summary_is_shortened_but_keeps_the_ack_code(
    make_notifier: MakeNotifier,
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms})
    await n.signal(signal(key="quorum", summary="trunk-a, trunk-b and both PBX nodes down " * 6))
    await n.run_once()
    text = sms.sent[0].sms_text
    code = n.store.incidents()[0].code
    assert gsm7.sms_units(text) <= 160 and text.endswith(f"Reply ACK {code}") and ".." in text


async def test_control_characters_never_reach_the_sms(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms})
    await n.signal(signal(key="quorum", summary="modem\x1a AT+CFUN=0\r\nOK\x1b"))
    await n.run_once()
    text = sms.sent[0].sms_text
    assert not any(ord(c) < 32 for c in text)
    assert "modem AT+CFUN=0 OK" in text


async def test_escalates_to_the_next_technician_without_an_ack(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=600, reminder_interval_s=0)
    await n.signal(signal())
    await n.run_once()
    clock.advance(599)
    await n.run_once()
    assert [m.recipient for m in sms.sent] == ["alice"]
    clock.advance(1)
    await n.run_once()
    assert [m.recipient for m in sms.sent] == ["alice", "bob"]
    esc = sms.sent[1]
    assert esc.kind == "escalate1" and esc.mobile == "+420777000002"
    assert "ESCALATED to you, no ACK from alice" in esc.sms_text
    assert "Calls go to alice's mobile." in esc.sms_text
    clock.advance(3600)
    await n.run_once()  # everyone in the rotation was asked: no further escalation
    assert len(sms.sent) == 2
    await n.signal(signal(active=False, summary="back", at=clock.now))
    await n.run_once()
    assert sorted(m.recipient for m in sms.sent[2:]) == ["alice", "bob"]


async def test_ack_by_api_stops_escalation_and_reminders(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=600, reminder_interval_s=300)
    await n.signal(signal())
    await n.run_once()
    clock.advance(300)
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "remind1"]
    assert sms.sent[1].sms_text.startswith("HOTLINE REMINDER #")
    inc = n.store.incidents()[0]
    acked = await n.acknowledge(inc.id, "alice", "api")
    assert acked is not None and acked.acked_by == "alice"
    again = await n.acknowledge(inc.id, "bob", "api")  # idempotent: the first one stands
    assert again is not None and again.acked_by == "alice"
    clock.advance(7200)
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "remind1"]
    timeline = [what for _, what in n.store.timeline(inc.id)]
    assert "acknowledged by alice via api" in timeline
    assert await n.acknowledge(9999, "alice", "api") is None
    await n.signal(signal(active=False, at=clock.now))
    with pytest.raises(IncidentResolved):
        await n.acknowledge(inc.id, "alice", "api")


async def test_ack_by_sms_reply_from_a_known_number(
    make_notifier: MakeNotifier, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=600)
    await n.signal(signal())
    await n.run_once()
    code = n.store.incidents()[0].code
    caplog.set_level(logging.INFO, logger="hotline.notifier")
    assert not await n.handle_incoming_sms("+420999888777", f"ACK {code}")  # stranger
    assert "+420***777" in caplog.text and "+420999888777" not in caplog.text
    assert await n.handle_incoming_sms("+420777000002", "ACK ZZZZZZ")  # wrong code: a reply
    assert not await n.handle_incoming_sms("+420777000002", "hello")
    assert n.store.incidents()[0].acked_at is None
    assert await n.handle_incoming_sms("+420777000002", f"  ack {code.lower()} ")
    inc = n.store.incidents()[0]
    assert inc.acked_by == "bob"
    clock.advance(3600)
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "reply", "reply"]
    wrong, ok = (m.sms_text for m in sms.sent[1:])
    assert wrong.startswith(f"No open incident ZZZZZZ. Open: #1 {code} (DOWN: primary SIP")
    assert ok == "#1 acknowledged, reminders stopped."
    assert [m.recipient for m in sms.sent[1:]] == ["bob", "bob"]


async def test_failed_channel_falls_through_to_the_next(make_notifier: MakeNotifier) -> None:
    modem = RecordingChannel("modem_sms", fail=True)
    twilio = RecordingChannel("twilio_sms")
    n = make_notifier(
        {"modem_sms": modem, "twilio_sms": twilio},
        channels=["modem_sms", "twilio_sms"],
        twilio={
            "account_sid": "AC" + "0" * 32,
            "auth_token": "secret-token",
            "from_number": "+420600000000",
        },
    )
    await n.signal(signal())
    assert await n.run_once() == 1
    assert modem.sent == [] and [m.recipient for m in twilio.sent] == ["alice"]
    row = n.store.outbox()[0]
    assert row.state == "sent" and row.channel == "twilio_sms" and row.provider_id == "twilio_sms-1"


async def test_all_channels_failing_retries_with_backoff_until_max_age(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    modem = RecordingChannel("modem_sms", fail=True)
    n = make_notifier(
        {"modem_sms": modem},
        retry={"max_attempts": 3, "initial_backoff_s": 10, "max_backoff_s": 15, "max_age_s": 100},
        reminder_interval_s=0,
        escalation_timeout_s=0,
    )
    await n.signal(signal())
    await n.run_once()
    row = n.store.outbox()[0]
    assert row.state == "pending" and row.attempts == 1
    assert (row.next_at - clock.now).total_seconds() == 10
    clock.advance(9)
    await n.run_once()
    assert n.store.outbox()[0].attempts == 1  # not due yet
    modem.fail = False
    clock.advance(1)
    assert await n.run_once() == 1
    assert n.store.outbox()[0].state == "sent"

    modem.fail = True
    await n.signal(signal(key="modem", at=clock.now))
    for _ in range(6):  # max_attempts no longer gives a message up: 6 rounds, still pending
        await n.run_once()
        clock.advance(15)
    row = n.store.outbox()[1]
    assert row.state == "pending" and row.attempts == 6
    clock.advance(15)  # 105 s old: past max_age_s
    await n.run_once()
    row = n.store.outbox()[1]
    assert row.state == "failed" and "expired" in (row.last_error or "")
    assert "refused by test" in (row.last_error or "")
    assert n.delivery.metrics.undeliverable == 1
    assert "hotline_notifier_undeliverable_total 1.0" in render_text(n.collector())


async def test_no_usable_channel_is_a_failure_not_a_crash(make_notifier: MakeNotifier) -> None:
    n = make_notifier({})  # modem_sms configured but no modem given
    await n.signal(signal())
    assert await n.run_once() == 0
    assert "no usable channel" in (n.store.outbox()[0].last_error or "")


async def test_subscribers_per_severity_and_quiet_hours(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms},
        subscribers={"critical": ["+420600111222"], "info": ["+420600333444"]},
        quiet_hours={"span": "12:30-14:00", "severities": ["info"]},  # Prague: 13:00 is quiet
        escalation_timeout_s=0,
        reminder_interval_s=0,
    )
    await n.signal(signal())
    await n.signal(signal(key="quorum", severity=Severity.INFO, summary="ZooKeeper slow"))
    await n.run_once()
    assert sorted((m.recipient, m.severity) for m in sms.sent) == [
        ("+420600111222", "critical"),
        ("alice", "critical"),
    ]
    clock.advance(3600)  # 14:00 Prague: the quiet hours are over
    await n.run_once()
    assert sorted(m.recipient for m in sms.sent if m.severity == "info") == [
        "+420600333444",
        "alice",
    ]


async def test_rate_limit_per_recipient(make_notifier: MakeNotifier, clock: Clock) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms}, rate_limit_per_hour=2, escalation_timeout_s=0, reminder_interval_s=0
    )
    for key in ("a", "b", "c"):
        await n.signal(signal(key=key))
    await n.run_once()
    assert len(sms.sent) == 2
    clock.advance(3599)
    await n.run_once()
    assert len(sms.sent) == 2
    clock.advance(1)
    await n.run_once()
    assert len(sms.sent) == 3


async def test_resolve_before_delivery_sends_nothing(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms})
    await n.signal(signal())
    await n.signal(signal(active=False))
    await n.run_once()
    assert sms.sent == []
    assert [r.state for r in n.store.outbox()] == ["cancelled"]


async def test_a_follower_neither_reminds_nor_escalates(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=60, reminder_interval_s=60)
    leader = True
    n.is_leader = lambda: leader
    await n.signal(signal())
    await n.run_once()
    leader = False
    clock.advance(3600)
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open"]
    leader = True
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "escalate1"]


async def test_disabled_notifier_sends_nothing(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, enabled=False)
    await n.signal(signal())
    rec = n.oncall_recipient()
    n.outbox.enqueue(
        key="x",
        kind="missed_call",
        severity="warning",
        recipient=rec,
        sms_text="t",
        subject="s",
        body="b",
    )
    assert await n.run_once() == 0 and sms.sent == [] and n.store.outbox() == []


async def test_a_channel_bug_falls_through_instead_of_sticking(
    make_notifier: MakeNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(RecordingChannel):
        async def send(self, m: Any) -> str:
            raise KeyError("bug")

    twilio = RecordingChannel("twilio_sms")
    n = make_notifier(
        {"modem_sms": Broken("modem_sms"), "twilio_sms": twilio},
        channels=["modem_sms", "twilio_sms"],
        twilio={"account_sid": "AC" + "0" * 32, "auth_token": "t", "from_number": "+420600000000"},
    )
    await n.signal(signal())
    assert await n.run_once() == 1 and len(twilio.sent) == 1
    assert "notifier.channel_bug error=KeyError" in caplog.text


async def test_route_change_in_an_open_incident_tells_everyone_told(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms}, subscribers={"critical": ["+420600111222"]}, escalation_timeout_s=0
    )
    await n.signal(signal(route="secondary", summary="trunk A down; calls go to secondary"))
    await n.run_once()
    assert "Calls go to the secondary line." in sms.sent[0].sms_text
    clock.advance(60)
    await n.signal(signal(route="oncall", summary="both trunks down", at=clock.now))
    await n.signal(signal(route="oncall", summary="both trunks down", at=clock.now))
    await n.run_once()
    updates = {m.recipient: m.sms_text for m in sms.sent if m.kind == "update1"}
    assert set(updates) == {"alice", "+420600111222"}
    assert "Calls go to YOUR mobile." in updates["alice"]
    assert "Calls go to alice's mobile." in updates["+420600111222"]
    assert updates["alice"].startswith("HOTLINE CRITICAL #1 UPDATE 13:01 CET: DOWN: primary")
    assert all(gsm7.sms_units(t) <= 160 for t in updates.values())
