"""Pure pieces: error tables, command builders, answer parsers, PDU encoding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem import commands as cmd
from modem import parse, pdu
from modem.e164 import InvalidNumber
from modem.errors import ModemError, error_from_final

CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy; hotline výpadek — volejte technika! "
CZECH_300 = (CZECH * 5)[:300]


@pytest.mark.parametrize(
    ("final", "code", "meaning", "transient", "kind"),
    [
        ("+CME ERROR: 30", 30, "no network service", True, "cme"),
        ("+CME ERROR: 258", 258, "retry operation", True, "cme"),
        ("+CME ERROR: 16", 16, "incorrect password", False, "cme"),
        ("+CME ERROR: network timeout", 31, "network timeout", True, "cme"),
        ("+CMS ERROR: 42", 42, "congestion", True, "cms"),
        ("+CMS ERROR: 330", 330, "SMSC address unknown", False, "cms"),
        ("+CME ERROR: 999", 999, "unknown error code 999", False, "cme"),
    ],
)
def test_errors_carry_code_meaning_and_retryability(
    final: str, code: int, meaning: str, transient: bool, kind: str
) -> None:
    err = error_from_final(final, "+CCFC")
    assert (err.code, err.meaning, err.transient, err.kind, err.command) == (
        code,
        meaning,
        transient,
        kind,
        "+CCFC",
    )
    assert meaning in str(err) and "+CCFC" in str(err)


def test_plain_error_has_no_code() -> None:
    err = error_from_final("ERROR", "+CCFC")
    assert type(err) is ModemError and err.code is None and not err.transient
    assert err.final == "ERROR"


def test_ccfc_builders() -> None:
    assert cmd.ccfc(0, 3, "+420212000001") == 'AT+CCFC=0,3,"+420212000001",145,1'
    assert cmd.ccfc(1, 4) == "AT+CCFC=1,4,,,1"
    assert cmd.ccfc_query(2) == "AT+CCFC=2,2"
    assert cmd.mmi_register(0, "+420212000001") == "ATD**21*+420212000001#;"
    assert cmd.mmi_erase(3) == "ATD##62#;"
    assert cmd.mmi_interrogate(1) == "ATD*#67#;"
    with pytest.raises(cmd.BadArgument):
        cmd.ccfc_query(4)  # reason 4/5 are for set/erase only


@pytest.mark.parametrize(
    "number", ['+420"+CFUN=0', "+420;+CFUN=0", "+420212000001\r", "420212000001", "+0123456789"]
)
def test_no_untrusted_number_reaches_a_command(number: str) -> None:
    for build in (
        lambda: cmd.ccfc(0, 3, number),
        lambda: cmd.mmi_register(0, number),
        lambda: cmd.cmgs_text(number),
    ):
        with pytest.raises(InvalidNumber):
            build()


def test_pin_and_index_validation() -> None:
    assert cmd.cpin("1234") == 'AT+CPIN="1234"'
    for bad in ('12"34', "12", "1234\r"):
        with pytest.raises(cmd.BadArgument):
            cmd.cpin(bad)
    with pytest.raises(cmd.BadArgument):
        cmd.index_command("+CMGR", -1)


def test_parsers() -> None:
    assert parse.voice_forwarding(["+CCFC: 0,7"]) == (False, None)
    assert parse.voice_forwarding(['+CCFC: 1,1,"420212000001",145']) == (True, "+420212000001")
    assert parse.voice_forwarding(['+CCFC: 1,4,"+420999",145', '+CCFC: 1,1,"+4201",145']) == (
        True,
        "+4201",
    )
    assert parse.voice_forwarding(['+CCFC: 1,2,"+420999",145']) == (False, None)
    assert parse.parse_csq("+CSQ: 20,99") == -73
    assert parse.parse_csq("+CSQ: 0,0") == -113
    assert parse.parse_csq("+CSQ: 99,99") is None
    assert parse.parse_registration("+CREG: 0,5", "+CREG:") == 5
    assert parse.parse_registration('+CREG: 2,1,"00C3","0010",7', "+CREG:") == 1
    assert parse.parse_registration('+CREG: 1,"00C3","0010"', "+CREG:") == 1
    assert parse.parse_registration("+CEREG: 2", "+CEREG:") == 2
    assert parse.parse_cops('+COPS: 0,0,"T-Mobile CZ",7') == "T-Mobile CZ"
    assert parse.parse_cops("+COPS: 0") is None
    assert parse.parse_clip('+CLIP: "420601000999",145,"",,"",0') == "+420601000999"
    assert parse.parse_clip('+CLIP: "+420;ATD",145') is None
    assert parse.parse_cmti('+CMTI: "SM",12') == 12
    with pytest.raises(ValueError):
        parse.parse_ccfc("+CCFC: x")


def test_czech_300_is_five_ucs2_parts_that_join_back() -> None:
    parts = pdu.encode_submit("+420601000111", CZECH_300, 42)
    assert len(parts) == 5
    decoded = [pdu.decode(p.hex) for p in parts]
    assert "".join(str(d["text"]) for d in decoded) == CZECH_300
    assert [pdu.concat_info(d) for d in decoded] == [(42, 5, i) for i in range(1, 6)]


def test_gsm7_limits() -> None:
    assert len(pdu.encode_submit("+420601000111", "a" * 160, 1)) == 1
    assert len(pdu.encode_submit("+420601000111", "a" * 161, 1)) == 2
    assert len(pdu.encode_submit("+420601000111", "€" * 80, 1)) == 1  # escaped: counts twice
    assert len(pdu.encode_submit("+420601000111", "€" * 81, 1)) == 2


def test_control_characters_cannot_reach_the_line() -> None:
    assert pdu.clean_text("a\x1ab\x1bc\r\nd\x00") == "abc\nd"
    assert pdu.to_text_mode("Ahoj\x1a\r\nsvěte") == "Ahoj svete"
    with pytest.raises(pdu.PduError):
        pdu.encode_submit("+420601000111", "\x1a\x1b", 1)


def test_deliver_pdu_round_trip() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    hex_pdu, length = pdu.encode_deliver("+420601000999", "Výpadek OK", when)
    d = pdu.decode(hex_pdu)
    assert (d["type"], d["number"], d["text"]) == ("SMS-DELIVER", "+420601000999", "Výpadek OK")
    assert length == len(hex_pdu) // 2 - 1


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=400))
def test_any_text_encodes_to_parts_that_decode_to_its_clean_form(text: str) -> None:
    clean = pdu.clean_text(text)
    if not clean:
        with pytest.raises(pdu.PduError):
            pdu.encode_submit("+420601000111", text, 7)
        return
    parts = pdu.encode_submit("+420601000111", text, 7)
    assert "".join(str(pdu.decode(p.hex)["text"]) for p in parts) == clean
    assert all(p.tpdu_length <= 164 for p in parts)
