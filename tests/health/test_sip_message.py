"""SIP OPTIONS building, parsing and matching: pure code, no sockets."""

from __future__ import annotations

import pytest

from health.sip.message import (
    MAGIC_COOKIE,
    SipParseError,
    SipTarget,
    StreamFramer,
    branch_of_request,
    build_options,
    parse_response,
    parse_target,
)


def _headers(data: bytes) -> dict[str, str]:
    lines = data.decode().split("\r\n")
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}


def test_options_is_well_formed_rfc3261() -> None:
    req = build_options(SipTarget("10.0.0.5", 5062, "udp"), "10.0.0.1", 40000, cseq=7)
    text = req.data.decode()
    assert text.startswith("OPTIONS sip:10.0.0.5:5062 SIP/2.0\r\n")
    assert text.endswith("\r\n\r\n")
    h = _headers(req.data)
    assert h["Via"] == f"SIP/2.0/UDP 10.0.0.1:40000;branch={req.branch};rport"
    assert req.branch.startswith(MAGIC_COOKIE) and len(req.branch) > len(MAGIC_COOKIE) + 8
    assert h["Max-Forwards"] == "70"
    assert h["CSeq"] == "7 OPTIONS"
    assert h["Call-ID"] == req.call_id
    assert h["From"].endswith(f";tag={req.from_tag}")
    assert h["To"] == "<sip:10.0.0.5:5062>"
    assert h["Content-Length"] == "0"


def test_each_request_has_fresh_identifiers() -> None:
    target = SipTarget("h", 5060, "udp")
    a, b = (build_options(target, "127.0.0.1", 1) for _ in range(2))
    assert a.branch != b.branch and a.call_id != b.call_id and a.from_tag != b.from_tag


def test_branch_must_carry_magic_cookie() -> None:
    with pytest.raises(ValueError, match="z9hG4bK"):
        build_options(SipTarget("h", 5060, "udp"), "127.0.0.1", 1, branch="abc")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:127.0.0.1", SipTarget("127.0.0.1", 5060, "udp")),
        ("sip:pbx.example.org:5070;transport=tcp", SipTarget("pbx.example.org", 5070, "tcp")),
        ("sip:sbc.example.org;transport=TLS", SipTarget("sbc.example.org", 5061, "tls")),
        ("sips:sbc.example.org", SipTarget("sbc.example.org", 5061, "tls")),
        ("sip:ping@[::1]:5080", SipTarget("::1", 5080, "udp")),
    ],
)
def test_parse_target(uri: str, expected: SipTarget) -> None:
    assert parse_target(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "http://x",
        "sip:",
        "sip:host:99999",
        "sip:host;transport=sctp",
        "sip:ho st",
        "sips:h;transport=udp",
    ],
)
def test_parse_target_rejects(uri: str) -> None:
    with pytest.raises(ValueError):
        parse_target(uri)


def _reply(req_data: bytes, status: str = "200 OK", *, call_id: str | None = None) -> bytes:
    h = _headers(req_data)
    lines = [
        f"SIP/2.0 {status}",
        f"Via: {h['Via']};received=127.0.0.1",
        f"From: {h['From']}",
        f"To: {h['To']};tag=abc",
        f"Call-ID: {call_id or h['Call-ID']}",
        f"CSeq: {h['CSeq']}",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_response_matches_its_request_only() -> None:
    target = SipTarget("127.0.0.1", 5060, "udp")
    req, other = (build_options(target, "127.0.0.1", 1) for _ in range(2))
    resp = parse_response(_reply(req.data, "503 Service Unavailable"))
    assert (resp.code, resp.status_text) == (503, "503 Service Unavailable")
    assert resp.answers(req)
    assert not resp.answers(other)
    spoofed = parse_response(_reply(req.data, call_id="attacker@evil"))
    assert spoofed.branch == req.branch and not spoofed.answers(req)


def test_compact_headers_and_folding() -> None:
    data = (
        b"SIP/2.0 404 Not Found\r\nv: SIP/2.0/UDP 1.2.3.4;\r\n branch=z9hG4bKxyz, "
        b"SIP/2.0/UDP 9.9.9.9;branch=z9hG4bKother\r\ni: cid@h\r\nCSeq: 3 options\r\nl: 0\r\n\r\n"
    )
    resp = parse_response(data)
    assert (resp.code, resp.branch, resp.call_id) == (404, "z9hG4bKxyz", "cid@h")
    assert (resp.cseq_number, resp.cseq_method) == (3, "OPTIONS")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n",
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_replies_raise(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_response(data)


def test_branch_read_back_from_own_request() -> None:
    req = build_options(SipTarget("h", 5060, "udp"), "127.0.0.1", 1)
    assert branch_of_request(req.data) == req.branch
    assert branch_of_request(req.data[:40]) is None


def test_stream_framer_cuts_by_content_length() -> None:
    one = b"SIP/2.0 200 OK\r\nCall-ID: a\r\nContent-Length: 4\r\n\r\nbody"
    two = b"SIP/2.0 503 Busy\r\nl: 0\r\n\r\n"
    framer = StreamFramer()
    stream = b"\r\n\r\n" + one + two
    got: list[bytes] = []
    for i in range(0, len(stream), 7):  # arbitrary segment boundaries
        got.extend(framer.feed(stream[i : i + 7]))
    assert got == [one, two]


def test_stream_framer_needs_content_length() -> None:
    with pytest.raises(SipParseError, match="Content-Length"):
        StreamFramer().feed(b"SIP/2.0 200 OK\r\nCall-ID: a\r\n\r\n")
