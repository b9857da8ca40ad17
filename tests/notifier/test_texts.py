"""Texts per language and technician, overrides from the config, transliteration, the worst-case
report of ``config check``, and the SMS commands a technician can send."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from controller.config import HotlineConfig
from controller.notifier import gsm7
from controller.notifier.inbound import parse
from controller.notifier.texts import transliterate
from controller.notifier.worstcase import parts, report
from tests.notifier.helpers import LAB, MakeNotifier, RecordingChannel, signal

ACKS = {"ack", "ok", "beru", "yes", "potvrzuji"}
STATUS = {"status", "stav"}


def cfg_with(**notifier: Any) -> HotlineConfig:
    raw = yaml.safe_load(LAB.read_text())
    raw["notifier"] = notifier
    return HotlineConfig.model_validate(raw)


def test_transliteration_keeps_gsm7_letters_and_strips_czech_diacritics() -> None:
    assert transliterate("Žluťoučký kůň, ústředna Žižkov") == "Zlutoucky kun, ustredna Zizkov"
    assert transliterate("KRITICKÉ") == "KRITICKÉ"  # É is in the GSM alphabet: kept
    assert gsm7.is_gsm7(transliterate("přepnutí SELHALO, volající"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACK K7M2Q9", ("ack", "K7M2Q9")),
        ("ack k7m2q9 jedu na to", ("ack", "K7M2Q9")),
        ("OK K7M2Q9.", ("ack", "K7M2Q9")),
        ("Beru", ("ack", None)),
        ("beru, jedu na to", ("ack", None)),
        ("  ACK  ", ("ack", None)),
        ("STATUS", ("status", None)),
        ("stav?", ("status", None)),
        ("hello", None),
        ("", None),
        ("ACKK7M2Q9", None),
    ],
)
def test_sms_commands(text: str, expected: tuple[str, str | None] | None) -> None:
    assert parse(text, ACKS, STATUS) == expected


def test_config_check_shows_each_templates_worst_case() -> None:
    czech = report(cfg_with(languages={"alice": "cs"}))
    assert any(line.startswith("  texts cs") and "UCS-2" in line for line in czech)
    plain = report(cfg_with(languages={"alice": "cs"}, transliterate=True))
    assert all("open 1," in line and "UCS-2" not in line for line in plain)
    assert parts("x" * 160) == (1, "GSM-7") and parts("x" * 161) == (2, "GSM-7")
    assert parts("č" * 70) == (1, "UCS-2") and parts("č" * 71) == (2, "UCS-2")


def test_an_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="no templates for language 'de'"):
        cfg_with(languages={"alice": "de"})


async def test_a_template_overridden_in_the_config(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms}, templates={"en": {"open": "ALARM #${id}: ${what}. ACK ${code}"}}
    )
    await n.signal(signal(down=("trunk-a",)))
    await n.run_once()
    code = n.store.incidents()[0].code
    assert (
        sms.sent[0].sms_text == f"ALARM #1: DOWN: primary SIP trunk (carrier A's SBC). ACK {code}"
    )


async def test_language_per_technician(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier(
        {"modem_sms": sms},
        languages={"alice": "cs"},
        subscribers={"critical": ["+420600111222"]},
        escalation_timeout_s=0,
    )
    await n.signal(signal(route="secondary", down=("trunk-a",)))
    await n.run_once()
    texts = {m.recipient: m.sms_text for m in sms.sent}
    assert texts["alice"].startswith("HOTLINE KRITICKÉ #1: nefunguje primary SIP trunk")
    assert "Hovory jdou na záložní linku." in texts["alice"]
    assert texts["+420600111222"].startswith("HOTLINE CRITICAL #1: DOWN: primary SIP trunk")
    assert "Calls go to the secondary line." in texts["+420600111222"]


async def test_ack_without_a_code_and_status(make_notifier: MakeNotifier) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=0, reminder_interval_s=0)
    n.route_now = lambda: "secondary"
    assert await n.handle_incoming_sms("+420777000001", "ACK")  # nothing open: says so
    await n.signal(signal(route="secondary", down=("trunk-a",)))
    await n.signal(signal(key="quorum", summary="ZooKeeper quorum lost"))
    assert await n.handle_incoming_sms("+420777000001", "ok jedu")  # two open: which one?
    assert await n.handle_incoming_sms("+420777000002", "STATUS")
    await n.run_once()
    replies = [m.sms_text for m in sms.sent if m.kind == "reply"]
    assert replies[0] == "No open incidents."
    assert replies[1].startswith("Which one? Open: #2 ") and "#1 " in replies[1]
    assert replies[2].startswith("HOTLINE STATUS 13:00 CET: calls go to the secondary line.")
    assert "Open: #2 " in replies[2] and "ZooKeeper quorum lost" in replies[2]
    quorum = n.store.open_incident_for("quorum")
    assert quorum is not None
    assert await n.handle_incoming_sms("+420777000001", f"ACK {quorum.code} jedu na to")
    assert await n.handle_incoming_sms("+420777000001", f"ack {quorum.code}")
    await n.run_once()
    replies = [m.sms_text for m in sms.sent if m.kind == "reply"]
    assert replies[3:] == [
        "#2 acknowledged, reminders stopped.",
        "#2 was already acknowledged by alice.",
    ]


async def test_the_pbx_cluster_is_named_when_its_quorum_is_lost(
    make_notifier: MakeNotifier,
) -> None:
    sms = RecordingChannel("modem_sms")
    n = make_notifier({"modem_sms": sms}, escalation_timeout_s=0)
    await n.signal(signal(route="oncall", down=("pbx", "pbx-1", "pbx-2")))
    await n.run_once()
    text = sms.sent[0].sms_text
    assert text.startswith("HOTLINE CRITICAL #1: DOWN: PBX cluster, pbx-1, pbx-2.")
    assert "Calls go to YOUR mobile." in text and "Check pbx." in text
