"""Callers as presented (issue 16, point 2): one normalised form, the raw value kept for audit.

A PBX event's ``caller`` is stored as sent. Everything that shows it (``GET /v1/callbacks``, the
dashboard's panel, the missed-call SMS and e-mail) shows ``caller`` (E.164 or null) and
``caller_display`` (that number, or "withheld or unknown number"); ``caller_raw`` is the raw
value escaped. ``"\\u202e999000106024+"`` renders as +420601000999 in a browser: it must come back
withheld/unknown, as must NUL, ESC and 0x1A. The API's side is in
``tests/controller/api/test_api_hostile.py``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from controller.calls.model import WITHHELD, CallerView, CallEvent
from controller.calls.service import CallLog
from controller.calls.store import CallStore
from controller.notifier.service import Notifier
from controller.notifier.store import NotifierStore
from logsafe import is_unsafe
from tests.notifier.helpers import T0, Clock, RecordingChannel, lab_config

SMTP = {"host": "127.0.0.1", "port": 2525, "tls": "none", "from": "hotline@example.org"}

SPOOFS = [
    "\u202e999000106024+",  # shown as +420601000999 by a bidi-aware renderer
    "+420601000999\x00",
    "\x1b[2J+420601000999",
    "+420601000999\x1a",
    "+420 601 000 999",
    "anonymous",
    "",
    "+4206010009991234567",  # 19 digits: longer than E.164 allows
]


@pytest.mark.parametrize("raw", SPOOFS)
def test_a_caller_that_is_not_e164_is_withheld_or_unknown(raw: str) -> None:
    seen = CallerView.of(raw)
    assert seen.caller is None
    assert seen.display == WITHHELD == "withheld or unknown number"
    assert seen.raw is not None and not any(is_unsafe(c) for c in seen.raw)


def test_an_e164_caller_is_itself_and_none_is_withheld() -> None:
    assert CallerView.of("+420601000999") == CallerView(
        "+420601000999", "+420601000999", "+420601000999"
    )
    assert CallerView.of(None) == CallerView(None, WITHHELD, None)


def test_the_raw_value_is_kept_escaped_for_the_audit() -> None:
    assert CallerView.of("\u202e999000106024+").raw == "\\u202e999000106024+"
    assert CallerView.of("a\x00b\x1b").raw == "a\\x00b\\x1b"


async def test_the_missed_call_alerts_say_withheld_and_keep_the_raw_value_escaped(
    tmp_path: Path,
) -> None:
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
    calls = CallLog(
        CallStore(tmp_path / "calls.sqlite3"), cfg.notifier.calls, "Europe/Prague", n, clock=clock
    )
    event = CallEvent.model_validate(
        {
            "call_id": "spoof-1",
            "caller": "\u202e999000106024+",
            "start": T0,
            "end": T0 + timedelta(seconds=30),
            "line": "primary",
        }
    )
    await calls.record(event)
    await n.run_once()
    (text,) = [m.sms_text for m in sms.sent]
    assert "withheld or unknown number" in text and "\u202e" not in text
    (m,) = mail.sent
    assert "\u202e" not in m.body and "\u202e" not in m.subject
    assert "Caller:   withheld or unknown number (as sent by the PBX: \\u202e999000106024+)" in (
        m.body
    )
    assert calls.callbacks()[0].caller == "\u202e999000106024+"  # the store keeps it raw
