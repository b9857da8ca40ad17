"""Pure pieces: GSM-7 hygiene, quiet hours, escalation order, backoff, masking."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from controller.notifier import gsm7
from controller.notifier.delivery import mask
from controller.notifier.incidents import backoff_s, new_ack_code, next_in_line, quiet_until
from controller.notifier.settings import QuietHours, Retry


def test_gsm7_counts_escapes_twice_and_ucs2_by_units() -> None:
    assert gsm7.is_gsm7("Reply ACK K7M2Q9 @ 13:00 CET")
    assert gsm7.sms_units("[x]") == 5
    assert not gsm7.is_gsm7("Žižkov") and gsm7.sms_units("Žižkov") == 6
    assert gsm7.single_sms_limit("Žižkov") == 70


@given(st.text(max_size=400))
def test_fit_keeps_head_and_tail_and_never_emits_control_characters(middle: str) -> None:
    text = gsm7.fit("HOTLINE CRITICAL #1: ", middle, ". Reply ACK K7M2Q9")
    assert text.startswith("HOTLINE CRITICAL #1: ") and text.endswith(". Reply ACK K7M2Q9")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text)
    assert gsm7.sms_units(text) <= gsm7.single_sms_limit(text)


def test_quiet_hours_wrap_midnight_in_local_time() -> None:
    q = QuietHours(span="22:00-07:00", timezone="Europe/Prague")
    night = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 Prague
    assert quiet_until(q, "info", night, "UTC") == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    early = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 05:00 Prague
    assert quiet_until(q, "info", early, "UTC") == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert quiet_until(q, "info", datetime(2026, 11, 26, 12, tzinfo=UTC), "UTC") is None
    assert quiet_until(q, "critical", night, "UTC") is None  # only low severity waits
    assert quiet_until(None, "info", night, "UTC") is None


def test_escalation_order_wraps_and_handles_an_override_outside_the_rotation() -> None:
    order = ("jana", "petr", "eva")
    assert [next_in_line(order, "petr", n) for n in (1, 2, 3)] == ["eva", "jana", None]
    assert [next_in_line(order, "karel", n) for n in (1, 3, 4)] == ["jana", "eva", None]


def test_backoff_doubles_up_to_the_cap() -> None:
    r = Retry(initial_backoff_s=5, max_backoff_s=30)
    assert [backoff_s(n, r) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_ack_codes_are_readable_and_vary() -> None:
    codes = {new_ack_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(len(c) == 6 and not set(c) & set("01OIL5S8B") for c in codes)


def test_mask() -> None:
    assert mask("+420777000123") == "+420***123"
    assert mask("alice@example.org") == "a***@example.org"
    assert mask("alice") == "alice" and mask(None) == "-"
