"""Delivery with real peers: channels independent of each other, fall-through by error class,
nothing dropped, at most one second copy, and only after an unknown outcome.

Peers: aiosmtpd (and a server that accepts and never answers), the real twilio client through a
CONNECT proxy to a local HTTPS Messages endpoint (``twilio_lab.py``), and the project's modem
emulator with its faults set through the control protocol (``modem.emulator.control.handle``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from controller.metrics import render_text
from controller.notifier.channels import EmailChannel, ModemSmsChannel, TwilioSmsChannel
from controller.notifier.routing import Progress, after
from controller.notifier.service import Notifier
from controller.notifier.settings import SmtpSettings, TwilioSettings
from controller.notifier.store import NotifierStore
from modem.driver import Modem
from modem.emulator import ModemEmulator
from modem.emulator.control import handle
from tests.notifier.helpers import T0, Clock, MakeNotifier, RecordingChannel, lab_config, signal
from tests.notifier.smtp_peers import Inbox, SilentSmtp
from tests.notifier.twilio_lab import TwilioLab, twilio_lab
from tests.support.clocks import ticking_from

CHAIN = ("modem_sms", "twilio_sms", "email")


# -- the rules, pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "channel", "result", "state", "cursor", "backoff"),
    [
        (Progress(), "modem_sms", "sent", "sent", None, False),
        (Progress(), "modem_sms", "transient", "pending", "twilio_sms", False),
        (Progress(), "modem_sms", "permanent", "pending", "twilio_sms", False),
        (Progress(), "modem_sms", "unknown", "pending", "twilio_sms", False),
        (Progress(frozenset({"modem_sms", "twilio_sms"})), "email", "transient", "pending",
         "modem_sms", True),
        (Progress(frozenset({"modem_sms"}), frozenset({"twilio_sms"})), "email", "permanent",
         "pending", "modem_sms", True),
        (Progress(dead=frozenset({"modem_sms", "twilio_sms"})), "email", "permanent", "failed",
         None, False),
        (Progress(unknown_on="modem_sms"), "twilio_sms", "unknown", "unknown", None, False),
        (Progress(unknown_on="modem_sms"), "twilio_sms", "transient", "pending", "email", False),
        (Progress(frozenset({"twilio_sms"}), unknown_on="modem_sms"), "email", "transient",
         "pending", "twilio_sms", True),
        (Progress(frozenset({"twilio_sms"}), frozenset({"email"}), "modem_sms"), "twilio_sms",
         "permanent", "unknown", None, False),
    ],
)  # fmt: skip
def test_routing_rules(
    progress: Progress, channel: str, result: Any, state: str, cursor: str | None, backoff: bool
) -> None:
    nxt = after(CHAIN, CHAIN, progress, channel, result)
    assert (nxt.state, nxt.cursor, nxt.backoff) == (state, cursor, backoff)
    assert nxt.cursor != nxt.progress.unknown_on or nxt.cursor is None  # never the same channel


def test_unknown_with_no_other_channel_stops_at_one_copy() -> None:
    nxt = after(("modem_sms",), ("modem_sms",), Progress(), "modem_sms", "unknown")
    assert nxt.state == "unknown" and nxt.cursor is None


# -- peers ----------------------------------------------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[TwilioLab]:
    with twilio_lab(tmp_path) as lab:
        yield lab


@pytest.fixture
async def modem() -> AsyncIterator[tuple[ModemEmulator, Modem]]:
    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    m = await Modem.open(f"socket://127.0.0.1:{port}", command_timeout=5, network_timeout=10)
    try:
        yield emu, m
    finally:
        await m.close()
        await emu.stop()


def smtp_section(port: int, **kw: Any) -> dict[str, Any]:
    base = {"host": "127.0.0.1", "port": port, "tls": "none", "from": "hotline@example.org"}
    return base | kw


def email(section: dict[str, Any]) -> EmailChannel:
    return EmailChannel(SmtpSettings.model_validate(section))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(check: Any, what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached within {timeout}s: {what}")


# -- channels are independent ---------------------------------------------------------------


async def test_hung_smtp_server_delays_no_sms(make_notifier: MakeNotifier) -> None:
    silent = SilentSmtp()
    port = await silent.start()
    section = smtp_section(port, timeout_s=60)
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms, "email": email(section)}, smtp=section)
    await n.start()
    try:
        for key in ("quorum", "lastresort", "other"):  # three incidents, three SMS
            await n.signal(signal(key=key))
        await until(lambda: len(sms.sent) == 3, "three SMS while SMTP hangs")
        await until(lambda: silent.connections >= 1, "the e-mail lane stuck in SMTP")
        states = {r.message.key: r.state for r in n.store.outbox()}
        assert [k for k, v in states.items() if v == "sent"] == [
            "inc1/open/alice",
            "inc2/open/alice",
            "inc3/open/alice",
        ]
        assert states["inc1/open/alice/email"] == "sending"  # still waiting for a greeting
    finally:
        await n.stop(grace_s=0.2)
        await silent.stop()


async def test_smtp_outage_queue_drains_when_the_server_returns(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    port = free_port()  # nothing listens: connection refused (transient)
    section = smtp_section(port)
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms, "email": email(section)},
        smtp=section,
        reminder_interval_s=0,
        escalation_timeout_s=0,
    )
    for key in ("route", "quorum"):
        await n.signal(signal(key=key))
    await n.run_once()
    mails = [r for r in n.store.outbox() if r.message.key.endswith("/email")]
    assert [r.state for r in mails] == ["pending", "pending"] and len(sms.sent) == 2
    assert all("email" in (r.last_error or "") for r in mails)
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    ctl.start()
    try:
        for _ in range(12):  # ~6 backoff rounds later (capped): still retried, never given up
            clock.advance(300)
            await n.run_once()
        assert inbox.to == ["alice@example.org", "alice@example.org"]
        assert {r.state for r in n.store.outbox()} == {"sent"}
    finally:
        ctl.stop()


async def test_smtp_550_is_permanent_and_raises_its_own_alert(
    make_notifier: MakeNotifier,
) -> None:
    inbox = Inbox("550 mailbox unavailable")
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    ctl.start()
    try:
        section = smtp_section(port)
        sms = RecordingChannel("modem_sms")
        n = make_notifier({"modem_sms": sms, "email": email(section)}, smtp=section)
        await n.signal(signal())
        await n.run_once()
        rows = {r.message.key: r for r in n.store.outbox()}
        assert rows["inc1/open/alice/email"].state == "failed"
        assert "550" in (rows["inc1/open/alice/email"].last_error or "")
        notice = rows["inc1/open/alice/email/undeliverable/alice"]
        assert notice.state == "sent" and notice.channel == "modem_sms"
        assert "could not be delivered via email" in sms.sent[-1].sms_text
        assert "hotline_notifier_undeliverable_total 1.0" in render_text(n.collector())
    finally:
        ctl.stop()


# -- modem and Twilio: error classes --------------------------------------------------------


def twilio(lab: TwilioLab, **kw: Any) -> TwilioSmsChannel:
    return TwilioSmsChannel(TwilioSettings.model_validate(lab.settings(**kw)))


def sms_notifier(make: MakeNotifier, impl: dict[str, Any], lab: TwilioLab, **kw: Any) -> Notifier:
    kw.setdefault("channels", list(impl))
    return make(impl, twilio=lab.settings(), reminder_interval_s=0, escalation_timeout_s=0, **kw)


async def test_modem_331_reaches_twilio_at_once_without_modem_retries(
    modem: tuple[ModemEmulator, Modem], lab: TwilioLab, make_notifier: MakeNotifier
) -> None:
    emu, m = modem
    n0 = emu.attempts["+CMGS"]
    faults = [{"command": "+CMGS", "attempt": n0 + k, "code": 331, "kind": "cms"} for k in (1, 2)]
    assert handle(emu, {"cmd": "set_fault", "faults": {"errors": faults}})["ok"]
    n = sms_notifier(
        make_notifier, {"modem_sms": ModemSmsChannel(m), "twilio_sms": twilio(lab)}, lab
    )
    for key in ("route", "quorum", "lastresort"):
        await n.signal(signal(key=key))
    assert await n.run_once() == 3
    # one try: no retries after 1, 3, 9 s, and the two queued behind it are not tried either
    assert emu.attempts["+CMGS"] == n0 + 1
    assert [r["form"]["To"] for r in lab.server.requests] == ["+420777000001"] * 3
    assert emu.outbox == []
    assert {(r.channel, r.state) for r in n.store.outbox()} == {("twilio_sms", "sent")}
    assert set(lab.proxy.hosts) == {"api.twilio.com:443"}  # through the proxy, TLS to our CA


async def test_modem_slower_than_send_timeout_gives_one_second_copy_only(
    modem: tuple[ModemEmulator, Modem], lab: TwilioLab, make_notifier: MakeNotifier, clock: Clock
) -> None:
    emu, m = modem
    handle(emu, {"cmd": "set_fault", "faults": {"latency_per_command": {"+CMGS": 1.0}}})
    impl = {"modem_sms": ModemSmsChannel(m), "twilio_sms": twilio(lab)}
    n = sms_notifier(make_notifier, impl, lab, send_timeout_s=0.3)
    lab.server.mode = "never"  # the second copy's outcome is unknown too: then stop
    await n.signal(signal())
    await n.run_once()
    row = n.store.outbox()[0]
    assert row.state == "unknown" and row.unknown_on == "modem_sms"
    await until(lambda: len(emu.outbox) == 1, "the modem's late delivery", 5)
    for _ in range(3):
        clock.advance(600)
        await n.run_once()
    assert len(lab.server.requests) == 1 and len(emu.outbox) == 1  # two copies, never three


@pytest.mark.parametrize(
    ("mode", "attempts_on_twilio", "state"),
    [("201", 1, "sent"), ("400", 1, "failed"), ("429", 3, "pending"), ("500", 3, "pending"),
     ("never", 1, "unknown")],
)  # fmt: skip
async def test_twilio_answers_classified(
    lab: TwilioLab,
    make_notifier: MakeNotifier,
    clock: Clock,
    mode: str,
    attempts_on_twilio: int,
    state: str,
) -> None:
    lab.server.mode = mode
    n = sms_notifier(make_notifier, {"twilio_sms": twilio(lab, timeout_s=0.5)}, lab)
    await n.signal(signal())
    for _ in range(3):
        await n.run_once()
        clock.advance(600)
    row = n.store.outbox()[0]
    assert (len(lab.server.requests), row.state) == (attempts_on_twilio, state)
    if mode == "400":
        assert "21211" in (row.last_error or "") and "twilio_sms" in row.dead


async def test_a_recovered_channel_drains_its_queue_at_once(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    port = free_port()
    section = smtp_section(port)
    n = make_notifier(
        {"email": email(section)},
        channels=["email"],
        smtp=section,
        email_copy=False,
        retry={"initial_backoff_s": 30, "max_backoff_s": 30},
        reminder_interval_s=0,
        escalation_timeout_s=0,
    )
    await n.signal(signal())  # refused: waits 30 s for its next round
    await n.run_once()
    (waiting,) = n.store.outbox()
    assert waiting.state == "pending" and (waiting.next_at - clock.now).total_seconds() == 30
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    ctl.start()
    try:
        clock.advance(6)  # past the 5 s a failed channel is passed over, within the backoff
        await n.signal(signal(key="quorum", summary="ZooKeeper quorum lost", at=clock.now))
        await n.run_once()  # the new e-mail goes, and the one in backoff follows at once
        assert [r.state for r in n.store.outbox()] == ["sent", "sent"]
        assert len(inbox.to) == 2
    finally:
        ctl.stop()


class Swallows(Inbox):
    """aiosmtpd that takes the whole message and never answers the final dot."""

    def __init__(self) -> None:
        super().__init__()
        self.got = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got += 1
        await asyncio.sleep(3600)
        return "250 never"


async def test_smtp_silent_after_the_data_is_an_unknown_outcome_not_resent(
    make_notifier: MakeNotifier, clock: Clock
) -> None:
    handler = Swallows()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    ctl.start()
    try:
        section = smtp_section(port, timeout_s=0.5)
        n = make_notifier(
            {"email": email(section)},
            channels=["email"],
            smtp=section,
            email_copy=False,
            reminder_interval_s=0,
            escalation_timeout_s=0,
        )
        await n.signal(signal())
        await n.run_once()
        for _ in range(3):
            clock.advance(600)
            await n.run_once()
        (row,) = n.store.outbox()
        assert row.state == "unknown" and row.unknown_on == "email"
        assert handler.got == 1  # the one server that may have it: no second copy there
    finally:
        ctl.stop()


async def test_messages_behind_a_busy_modem_go_to_twilio_after_lane_wait(
    modem: tuple[ModemEmulator, Modem], lab: TwilioLab, tmp_path: Path
) -> None:
    emu, m = modem
    handle(emu, {"cmd": "set_fault", "faults": {"latency_per_command": {"+CMGS": 1.5}}})
    impl = {"modem_sms": ModemSmsChannel(m), "twilio_sms": twilio(lab)}
    cfg = lab_config(channels=list(impl), twilio=lab.settings(), escalation_timeout_s=0,
                     lane_wait_s=0.3, poll_interval_s=0.1)  # fmt: skip
    store = NotifierStore(tmp_path / "lanes.sqlite3")
    n = Notifier(cfg, cfg.notifier, store, impl, clock=ticking_from(T0))  # time must pass
    await n.start()
    try:
        for key in ("route", "quorum", "lastresort"):
            await n.signal(signal(key=key))
        await until(lambda: len(lab.server.requests) == 2, "two SMS handed to Twilio", 5)
        await until(lambda: len(emu.outbox) == 1, "the modem's one", 5)
        # the modem has the SMS before its OK reaches the notifier: wait for the rows to settle
        settled = lambda: all(r.state != "sending" for r in n.store.outbox())  # noqa: E731
        await until(settled, "no row left sending", 5)
        rows = n.store.outbox()
        assert sorted(str(r.channel) for r in rows) == ["modem_sms", "twilio_sms", "twilio_sms"]
        assert {r.state for r in rows} == {"sent"}  # each once: nothing sent twice
    finally:
        await n.stop(grace_s=1)
