"""The call log: replays, missed calls to callbacks and the technician, long calls, stats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from controller.calls.model import CallEvent, CallRecord, daily_stats
from controller.calls.service import CallLog
from controller.calls.store import CallStore
from controller.notifier.service import Notifier
from controller.notifier.store import NotifierStore
from tests.notifier.helpers import T0, Clock, RecordingChannel, lab_config

SMTP = {"host": "127.0.0.1", "port": 2525, "tls": "none", "from": "hotline@example.org"}


def ev(
    call_id: str,
    start_s: float = 0,
    answer_s: float | None = 10,
    end_s: float | None = 60,
    base: datetime = T0,
    **kw: Any,
) -> CallEvent:
    def at(s: float | None) -> datetime | None:
        return None if s is None else base + timedelta(seconds=s)

    data: dict[str, Any] = {
        "call_id": call_id,
        "caller": "+420601000999",
        "start": at(start_s),
        "answer": at(answer_s),
        "end": at(end_s),
        "line": "primary",
        "agent": "agent-7",
    }
    return CallEvent.model_validate(data | kw)


@pytest.fixture
def parts(tmp_path: Path) -> tuple[CallLog, Notifier, RecordingChannel, RecordingChannel]:
    clock = Clock(T0 + timedelta(minutes=10))
    cfg = lab_config(channels=["modem_sms", "email"], smtp=SMTP)
    sms, mail = RecordingChannel("modem_sms"), RecordingChannel("email", wants="email")
    n = Notifier(
        cfg,
        cfg.notifier,
        NotifierStore(tmp_path / "n.sqlite3"),
        {"modem_sms": sms, "email": mail},
        clock=clock,
    )
    log = CallLog(
        CallStore(tmp_path / "calls.sqlite3"), cfg.notifier.calls, "Europe/Prague", n, clock=clock
    )
    return log, n, sms, mail


async def test_missed_call_reaches_callback_list_and_technician_once(parts: Any) -> None:
    log, n, sms, mail = parts
    r = await log.record(ev("c1", answer_s=None, end_s=35))
    assert r.status == "new" and r.missed and r.callback_id is not None
    again = await log.record(ev("c1", answer_s=None, end_s=35))
    assert again.status == "duplicate" and not again.missed
    await n.run_once()
    (text,) = [m.sms_text for m in sms.sent]
    assert text.startswith("HOTLINE missed call from +420601000999 on primary at 13:00 CET")
    assert "rang 35 s" in text and f"Callback #{r.callback_id}" in text
    assert [m.email for m in mail.sent] == ["alice@example.org"]
    assert "POST /v1/callbacks/" in mail.sent[0].body
    (cb,) = log.callbacks()
    assert cb.call_id == "c1" and cb.caller == "+420601000999" and cb.state == "open"


async def test_closing_a_callback_records_who_and_when(parts: Any) -> None:
    log, *_ = parts
    r = await log.record(ev("c2", answer_s=None, end_s=20))
    when = T0 + timedelta(minutes=30)
    cb = log.close_callback(r.callback_id, "bob", when, "reached, problem solved")
    assert cb.state == "closed" and cb.closed_by == "bob" and cb.called_back_at == when
    assert log.callbacks() == [] and len(log.callbacks(open_only=False)) == 1
    cb2 = log.close_callback(r.callback_id, "alice")  # closing twice keeps the first
    assert cb2.closed_by == "bob"
    assert log.close_callback(999, "bob") is None


async def test_in_progress_then_completed_counts_once(parts: Any) -> None:
    log, *_ = parts
    first = await log.record(ev("c3", answer_s=None, end_s=None))
    assert first.status == "new" and not first.missed
    done = await log.record(ev("c3", answer_s=None, end_s=40))
    assert done.status == "completed" and done.missed
    assert (await log.record(ev("c3", answer_s=None, end_s=50))).status == "duplicate"
    assert len(log.callbacks()) == 1


async def test_long_call_is_emailed_for_review_only(parts: Any) -> None:
    log, n, sms, mail = parts
    short = await log.record(ev("c4", answer_s=5, end_s=300))
    long_ = await log.record(ev("c5", answer_s=5, end_s=301))
    assert not short.problematic and long_.problematic
    await log.record(ev("c5", answer_s=5, end_s=301))
    await n.run_once()
    assert sms.sent == []
    (m,) = mail.sent
    assert m.kind == "long_call" and m.subject == "[hotline] long call on primary: 5 min"
    assert "Agent:    agent-7" in m.body and "Talked:   4 min" in m.body


async def test_withheld_caller_never_reaches_the_sms_raw(parts: Any) -> None:
    log, n, sms, _ = parts
    await log.record(ev("c6", answer_s=None, end_s=5, caller="anonymous\x1aAT+CFUN=0"))
    await n.run_once()
    assert "withheld or unknown number" in sms.sent[0].sms_text
    assert "CFUN" not in sms.sent[0].sms_text


def test_event_validation() -> None:
    with pytest.raises(ValidationError):
        ev("x", answer_s=100, end_s=50)
    with pytest.raises(ValidationError):
        CallEvent.model_validate({"call_id": "x", "start": "2026-11-25T12:00:00", "line": "p"})
    with pytest.raises(ValidationError):
        ev("bad id; drop table")
    assert ev("y", extra_field=1).call_id == "y"  # PBX extras are ignored


def test_daily_stats_per_line_in_local_time() -> None:
    calls = [
        CallRecord.from_event(e)
        for e in [
            ev("a", 0, 10, 70),  # answered, 60 s talk, 10 s wait
            ev("b", 100, 130, 250),  # answered, 120 s talk, 30 s wait
            ev("c", 200, None, 245),  # missed after 45 s
            ev("d", 300, None, 330, line="secondary"),  # missed after 30 s
            ev("e", 400, None, None, line="secondary"),  # still ringing
            ev("f", 0, 10, 20, base=datetime(2026, 11, 25, 23, 30, tzinfo=UTC)),  # next local day
        ]
    ]
    s = daily_stats(calls, date(2026, 11, 25), "Europe/Prague")
    t = s.total.as_dict()
    assert t == {
        "calls": 5,
        "answered": 2,
        "missed": 2,
        "in_progress": 1,
        "answer_seizure_ratio": 0.4,
        "average_duration_s": 90.0,
        "longest_wait_s": 45.0,
    }
    assert s.lines["primary"].answer_seizure_ratio == round(2 / 3, 4)
    assert s.lines["secondary"].as_dict()["missed"] == 1
    assert daily_stats(calls, date(2026, 11, 26), "Europe/Prague").total.calls == 1
