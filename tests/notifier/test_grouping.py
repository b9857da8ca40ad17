"""One outage, one incident: its signals share a number and a code; an upgrade before the opening
went out rewrites it in place; news after it is an update; the e-mail tells the current state."""

from __future__ import annotations

from controller.notifier.service import Notifier
from controller.notifier.signal import Severity
from tests.notifier.helpers import Clock, MakeNotifier, RecordingChannel, signal


def quiet(make_notifier: MakeNotifier, sms: RecordingChannel, **kw: object) -> Notifier:
    return make_notifier({"modem_sms": sms}, escalation_timeout_s=0, reminder_interval_s=0, **kw)


async def test_route_flapping_and_modem_are_one_incident(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    n = quiet(make_notifier, sms)
    await n.signal(signal(route="oncall"))
    await n.run_once()
    clock.advance(0.5)
    await n.signal(signal(key="flapping", severity=Severity.WARNING, summary="route is flapping"))
    await n.signal(signal(key="modem", summary="GSM modem unhealthy", down=()))
    await n.run_once()
    (inc,) = n.store.incidents()
    assert set(inc.members) == {"route", "flapping", "modem"}
    kinds = [m.kind for m in sms.sent]
    assert kinds == ["open", "update1"]  # flapping joins quietly; the modem is news
    assert all(f"ACK {inc.code}" in m.sms_text for m in sms.sent)
    assert "GSM modem unhealthy" in sms.sent[1].sms_text
    for key in ("flapping", "modem"):
        await n.signal(signal(key=key, active=False, summary=f"{key} ok"))
    assert n.store.incident(inc.id).state == "open"
    await n.signal(signal(active=False, summary="calls back on primary"))
    await n.run_once()
    assert [m.kind for m in sms.sent] == ["open", "update1", "resolve"]


async def test_warning_then_critical_before_it_went_out_is_one_sms(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    sms = RecordingChannel("modem_sms")
    smtp = {"host": "127.0.0.1", "tls": "none", "from": "hotline@example.org"}
    n = make_notifier(
        {"modem_sms": sms, "email": RecordingChannel("email", wants="email")},
        smtp=smtp,
        group_delay_s=2,
        escalation_timeout_s=0,
        reminder_interval_s=0,
    )
    await n.signal(signal(severity=Severity.WARNING, route="secondary", down=("trunk-a",)))
    await n.run_once()
    assert sms.sent == []  # the grouping delay: the rest of the outage may follow
    clock.advance(1.5)
    await n.signal(signal(route="oncall", at=clock.now))
    await n.run_once()  # critical now: the rest of the delay is not waited
    (only,) = sms.sent
    assert only.kind == "open" and only.severity == "critical"
    assert only.sms_text.startswith("HOTLINE CRITICAL #1: DOWN: primary SIP trunk")
    assert "Calls go to YOUR mobile." in only.sms_text
    mail = next(r for r in n.store.outbox() if r.message.key.endswith("/email"))
    assert mail.message.body.startswith(only.sms_text)  # the current text, not the stale one
    assert "route1" not in mail.message.body and "(route)" not in mail.message.body


async def test_a_critical_opening_goes_at_once(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = quiet(make_notifier, sms, group_delay_s=5)
    await n.signal(signal())
    assert await n.run_once() == 1


async def test_a_resolution_e_mail_tells_what_ended_it_not_what_broke(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    """Found by the chaos lab: the subject of every trunk incident's resolution read "resolved:
    hotline now forwards to secondary" while the SMS said calls were back on the primary."""
    sms, mail = RecordingChannel("modem_sms"), RecordingChannel("email", wants="email")
    smtp = {"host": "127.0.0.1", "tls": "none", "from": "hotline@example.org"}
    n = make_notifier(
        {"modem_sms": sms, "email": mail},
        smtp=smtp,
        group_delay_s=0,
        escalation_timeout_s=0,
        reminder_interval_s=0,
    )
    await n.signal(signal(severity=Severity.WARNING, route="secondary", down=("trunk-a",)))
    await n.run_once()
    clock.advance(30)
    await n.signal(signal(active=False, summary="calls back on primary", at=clock.now))
    await n.run_once()
    resolve = next(m for m in mail.sent if m.kind == "resolve")
    assert "calls back on the primary line" in resolve.subject, resolve.subject
    assert "secondary" not in resolve.subject, resolve.subject
    opened = next(m for m in mail.sent if m.kind == "open")
    assert "DOWN: primary SIP trunk" in opened.subject  # the opening still tells what broke
