"""The lab's own peers do what the faults say: the SMTP sink hangs and comes back; the schedule
is seeded, bounded and one fault at a time."""

from __future__ import annotations

import itertools
import smtplib

import pytest

from lab.schedule import KINDS, make_schedule
from lab.sip import free_tcp_port
from lab.watch import SmtpSink


def test_the_smtp_sink_hangs_then_receives_again() -> None:
    sink = SmtpSink(free_tcp_port())
    sink.start()
    try:
        sink.hang()
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
            smtplib.SMTP("127.0.0.1", sink.port, timeout=0.5)  # accepted, never greeted
        sink.unhang()
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=3) as client:
            client.sendmail("lab@example.org", ["bob@example.org"], "Subject: back\r\n\r\nx")
        assert [m["subject"] for m in sink.handler.mails] == ["back"]
    finally:
        sink.stop()


def test_the_schedule_is_seeded_bounded_and_sequential() -> None:
    one = make_schedule(3, 600, gap_s=10)
    assert one == make_schedule(3, 600, gap_s=10) and one != make_schedule(4, 600, gap_s=10)
    assert one[-1].end + 10 <= 600
    assert all(b.start >= a.end + 10 for a, b in itertools.pairwise(one))
    assert {f.kind for f in make_schedule(3, 3600)} == set(KINDS)  # every kind once first
    with pytest.raises(ValueError, match="unknown fault kind"):
        make_schedule(1, 60, kinds=("meteor",))
