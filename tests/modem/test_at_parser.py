"""The sans-I/O AT parser against transcripts written from TS 27.007 / 27.005 and vendor manuals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.at import AtProtocol, Prompt, Response, Urc
from modem.commands import BadArgument, spec_for


def run(line: str, *chunks: bytes) -> tuple[AtProtocol, list[Response | Urc | Prompt]]:
    proto = AtProtocol()
    assert proto.send_command(line, spec_for(line)) == line.encode() + b"\r"
    events: list[Response | Urc | Prompt] = []
    for chunk in chunks:
        proto.receive_data(chunk)
        while (ev := proto.next_event()) is not None:
            events.append(ev)
    return proto, events


def test_ccfc_query_with_echo_off() -> None:
    _, events = run("AT+CCFC=0,2", b'\r\n+CCFC: 1,1,"+420212000001",145\r\n\r\nOK\r\n')
    assert events == [Response("AT+CCFC=0,2", ('+CCFC: 1,1,"+420212000001",145',), "OK")]


def test_echo_is_skipped() -> None:
    _, events = run("AT+CCFC=0,2", b"AT+CCFC=0,2\r\r\n+CCFC: 0,7\r\n\r\nOK\r\n")
    assert events == [Response("AT+CCFC=0,2", ("+CCFC: 0,7",), "OK")]


def test_urc_in_the_middle_of_a_response_is_kept_apart() -> None:
    data = (
        b'\r\n+CCFC: 1,1,"+420212000001",145\r\n\r\nRING\r\n'
        b'\r\n+CLIP: "+420601000999",145\r\n\r\nOK\r\n'
    )
    _, events = run("AT+CCFC=0,2", data)
    assert events == [
        Urc("RING"),
        Urc('+CLIP: "+420601000999",145'),
        Response("AT+CCFC=0,2", ('+CCFC: 1,1,"+420212000001",145',), "OK"),
    ]


def test_urc_between_echo_and_bare_text_answer() -> None:
    _, events = run("AT+CGSN", b'AT+CGSN\r\r\n+CMTI: "SM",3\r\n\r\n356938035643809\r\n\r\nOK\r\n')
    assert events == [Urc('+CMTI: "SM",3'), Response("AT+CGSN", ("356938035643809",), "OK")]


@pytest.mark.parametrize(
    "final",
    ["ERROR", "+CME ERROR: 30", "+CME ERROR: no network service", "+CMS ERROR: 331"],
)
def test_error_finals_end_the_command(final: str) -> None:
    _, events = run("AT+CCFC=0,3", f"\r\n{final}\r\n".encode())
    assert events == [Response("AT+CCFC=0,3", (), final)]


def test_sms_prompt_then_reference() -> None:
    proto, events = run("AT+CMGS=20", b"\r\n> ")
    assert events == [Prompt("AT+CMGS=20")]
    assert proto.send_body("0011") == b"0011\x1a"
    proto.receive_data(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")
    assert proto.next_event() == Response("AT+CMGS=20", ("+CMGS: 7",), "OK")


def test_sms_prompt_with_echo_of_command_and_body() -> None:
    proto, events = run("AT+CMGS=20", b"AT+CMGS=20\r\r\n> ")
    assert events == [Prompt("AT+CMGS=20")]
    proto.send_body("00110A")
    proto.receive_data(b"00110A\x1a\r\n+CMGS: 8\r\n\r\nOK\r\n")
    assert proto.next_event() == Response("AT+CMGS=20", ("+CMGS: 8",), "OK")


def test_prompt_is_not_recognised_for_other_commands() -> None:
    _, events = run("AT+CSQ", b"\r\n> ")
    assert events == []


def test_sms_body_reading_ok_is_data_not_a_final() -> None:
    data = b'\r\n+CMGR: "REC UNREAD","+420601000999",,"24/01/01,10:00:00+04"\r\nOK\r\n\r\nOK\r\n'
    _, events = run("AT+CMGR=1", data)
    assert events == [
        Response(
            "AT+CMGR=1",
            ('+CMGR: "REC UNREAD","+420601000999",,"24/01/01,10:00:00+04"', "OK"),
            "OK",
        )
    ]


def test_cmt_urc_carries_its_pdu_line_even_mid_command() -> None:
    data = b"\r\n+CMT: ,24\r\n+CME ERROR: 3\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    _, events = run("AT+CSQ", data)
    assert events == [Urc("+CMT: ,24", "+CME ERROR: 3"), Response("AT+CSQ", ("+CSQ: 20,99",), "OK")]


def test_dial_finals() -> None:
    _, events = run("ATD**21*+420212000001#;", b"\r\nNO CARRIER\r\n")
    assert events == [Response("ATD**21*+420212000001#;", (), "NO CARRIER")]


def test_no_carrier_without_dial_is_a_urc() -> None:
    _, events = run("AT+CSQ", b"\r\nNO CARRIER\r\n\r\n+CSQ: 5,99\r\n\r\nOK\r\n")
    assert events[0] == Urc("NO CARRIER")


def test_lines_without_pending_command_are_urcs_including_late_ok() -> None:
    proto = AtProtocol()
    proto.receive_data(b"\r\n+CREG: 5\r\n\r\nOK\r\n\r\n^RSSI: 12\r\n")
    assert [proto.next_event() for _ in range(4)] == [
        Urc("+CREG: 5"),
        Urc("OK"),
        Urc("^RSSI: 12"),
        None,
    ]


def test_garbage_with_prefixed_command_goes_to_urcs() -> None:
    _, events = run("AT+CSQ", b"\xff\xfe\x00garbage\r\n+CSQ: 20,99\r\nOK\r\n")
    assert isinstance(events[0], Urc)
    assert events[1] == Response("AT+CSQ", ("+CSQ: 20,99",), "OK")


def test_overlong_line_is_dropped() -> None:
    proto = AtProtocol()
    proto.receive_data(b"x" * (AtProtocol.MAX_LINE + 10))
    assert proto.dropped_bytes > AtProtocol.MAX_LINE
    proto.receive_data(b"\r\nRING\r\n")
    assert proto.next_event() == Urc("RING")


def test_abandon_makes_late_answer_surface_as_urcs() -> None:
    proto = AtProtocol()
    proto.send_command("AT+CCFC=0,2", spec_for("AT+CCFC=0,2"))
    proto.abandon()
    proto.receive_data(b"\r\n+CCFC: 0,7\r\n\r\nOK\r\n")
    assert proto.next_event() == Urc("+CCFC: 0,7")
    assert proto.next_event() == Urc("OK")


def test_one_command_at_a_time_and_no_control_bytes() -> None:
    proto = AtProtocol()
    proto.send_command("AT", spec_for("AT"))
    with pytest.raises(RuntimeError):
        proto.send_command("AT", spec_for("AT"))
    with pytest.raises(BadArgument):
        AtProtocol().send_command("AT+CMGS=1\x1aATD123;", spec_for("AT+CMGS=1"))
    p2, _ = run("AT+CMGS=20", b"\r\n> ")
    with pytest.raises(ValueError):
        p2.send_body("00\x1aAT+CFUN=0\r")


TRANSCRIPT = (
    b'AT+CCFC=0,2\r\r\n+CCFC: 1,1,"+420212000001",145\r\n\r\nRING\r\n'
    b'\r\n+CMT: ,24\r\nOK\r\n\r\n+CCFC: 1,4,"+420212000009",145\r\n\r\nOK\r\n'
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(TRANSCRIPT)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    bounds = zip([0, *points], [*points, len(TRANSCRIPT)], strict=True)
    chunks = [TRANSCRIPT[a:b] for a, b in bounds]
    _, events = run("AT+CCFC=0,2", *chunks)
    assert events == [
        Urc("RING"),
        Urc("+CMT: ,24", "OK"),
        Response(
            "AT+CCFC=0,2",
            ('+CCFC: 1,1,"+420212000001",145', '+CCFC: 1,4,"+420212000009",145'),
            "OK",
        ),
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=20), st.sampled_from(["AT+CSQ", "AT+CMGS=20"]))
def test_random_bytes_never_crash_or_grow(chunks: list[bytes], line: str) -> None:
    proto = AtProtocol()
    proto.send_command(line, spec_for(line))
    for chunk in chunks:
        proto.receive_data(chunk)
        for _ in range(10_000):
            ev = proto.next_event()
            if ev is None:
                break
            assert isinstance(ev, Response | Urc | Prompt)
        assert len(proto._buf) <= AtProtocol.MAX_LINE


@pytest.mark.parametrize(
    ("line", "data", "answer", "urcs"),
    [
        # Huawei: ^RSSI / ^BOOT arrive at any time
        (
            "AT+CSQ",
            b"\r\n^RSSI: 14\r\n\r\n+CSQ: 14,99\r\n\r\n^BOOT: 1,0\r\n\r\nOK\r\n",
            ("+CSQ: 14,99",),
            ["^RSSI: 14", "^BOOT: 1,0"],
        ),
        # Quectel: +QIND URCs; identification answered with a prefix on some firmware
        (
            "AT+CGSN",
            b'\r\n+QIND: "csq",20,99\r\n\r\n+CGSN: 866758042111111\r\n\r\nOK\r\n',
            ("+CGSN: 866758042111111",),
            ['+QIND: "csq",20,99'],
        ),
        # SIMCom: "Call Ready"/"SMS Ready" after boot, between echo and answer
        (
            "AT+CPIN?",
            b"AT+CPIN?\r\r\nCall Ready\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n\r\nOK\r\n",
            ("+CPIN: READY",),
            ["Call Ready", "SMS Ready"],
        ),
        # TS 27.007: a no-reply query answer carries <time> after empty subaddress fields
        (
            "AT+CCFC=2,2",
            b'\r\n+CCFC: 1,1,"+420212000001",145,,,20\r\n\r\nOK\r\n',
            ('+CCFC: 1,1,"+420212000001",145,,,20',),
            [],
        ),
        # +CREG unsolicited (no <n>) while +CREG? is answered (with <n>)
        ("AT+CREG?", b"\r\n+CREG: 0,5\r\n\r\nOK\r\n", ("+CREG: 0,5",), []),
        # +CUSD answer to a USSD code arrives as a URC after OK
        (
            'AT+CUSD=1,"*#21#",15',
            b'\r\nOK\r\n\r\n+CUSD: 0,"Call forwarding not active",15\r\n',
            (),
            ['+CUSD: 0,"Call forwarding not active",15'],
        ),
    ],
)
def test_vendor_transcripts(
    line: str, data: bytes, answer: tuple[str, ...], urcs: list[str]
) -> None:
    _, events = run(line, data)
    assert [e for e in events if isinstance(e, Response)] == [Response(line, answer, "OK")]
    assert [e.line for e in events if isinstance(e, Urc)] == urcs
