"""SIP OPTIONS, sans-I/O: parse a target URI, build a request, parse and match a response.

Only what a keep-alive needs of RFC 3261: a well-formed OPTIONS (Via with a ``z9hG4bK`` branch,
Max-Forwards, From tag, To, Call-ID, CSeq), and a response parser that reads the status line and the
headers used for matching. A response counts only if its top Via branch *and* Call-ID *and* CSeq
are ours, so a stray or spoofed reply never marks a dead peer alive. Stream transports (TCP/TLS)
use ``StreamFramer`` to cut messages by Content-Length (RFC 3261 §18.3).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

Transport = Literal["udp", "tcp", "tls"]
MAGIC_COOKIE = "z9hG4bK"
_DEFAULT_PORT = {"udp": 5060, "tcp": 5060, "tls": 5061}
_COMPACT = {"v": "via", "i": "call-id", "f": "from", "t": "to", "l": "content-length"}
_URI = re.compile(
    r"^(?P<scheme>sips?):(?:[^@;]+@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<params>(?:;[A-Za-z0-9_.!~*'()%=-]+)*)$"
)
_STATUS = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2})(?: (.*))?$")
_BRANCH = re.compile(r";\s*branch=([^;,\s]+)", re.IGNORECASE)
MAX_MESSAGE = 65535


class SipParseError(ValueError):
    """A malformed SIP message; the text is a short reason fit for a sample."""


@dataclass(frozen=True, slots=True)
class SipTarget:
    host: str
    port: int
    transport: Transport

    @property
    def request_uri(self) -> str:
        scheme = "sips" if self.transport == "tls" else "sip"
        suffix = f";transport={self.transport}" if self.transport == "tcp" else ""
        return f"{scheme}:{_bracket(self.host)}:{self.port}{suffix}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_target(uri: str) -> SipTarget:
    """``sip:HOST[:PORT][;transport=udp|tcp|tls]`` (``sips:`` means TLS) → ``SipTarget``."""
    m = _URI.match(uri.strip())
    if m is None:
        raise ValueError(f"not a SIP URI: {uri!r} (expected sip:HOST[:PORT][;transport=udp])")
    params = {}
    for param in m.group("params").split(";"):
        name, _, value = param.partition("=")
        params[name.lower()] = value
    transport = params.get("transport", "tls" if m.group("scheme") == "sips" else "udp").lower()
    if transport not in _DEFAULT_PORT:
        raise ValueError(f"unsupported transport {transport!r} (udp, tcp or tls)")
    if m.group("scheme") == "sips" and transport != "tls":
        raise ValueError("sips: needs transport tls")
    port = int(m.group("port")) if m.group("port") else _DEFAULT_PORT[transport]
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return SipTarget(m.group("host").strip("[]"), port, transport)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class OptionsRequest:
    """What identifies one OPTIONS transaction, and its bytes on the wire."""

    branch: str
    call_id: str
    from_tag: str
    cseq: int
    data: bytes


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(10)


def build_options(
    target: SipTarget,
    local_host: str,
    local_port: int,
    *,
    from_uri: str = "sip:hotline-probe@invalid",
    branch: str | None = None,
    call_id: str | None = None,
    cseq: int = 1,
) -> OptionsRequest:
    """A complete OPTIONS request (RFC 3261 §11) addressed to ``target``."""
    branch = branch or new_branch()
    if not branch.startswith(MAGIC_COOKIE):
        raise ValueError("an RFC 3261 branch starts with z9hG4bK")
    call_id = call_id or f"{secrets.token_hex(12)}@hotline-probe"
    from_tag = secrets.token_hex(6)
    via_transport = target.transport.upper()
    lines = [
        f"OPTIONS {target.request_uri} SIP/2.0",
        f"Via: SIP/2.0/{via_transport} {_bracket(local_host)}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={from_tag}",
        f"To: <{target.request_uri}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} OPTIONS",
        "Accept: application/sdp",
        "User-Agent: hotline-failover-probe",
        "Content-Length: 0",
        "",
        "",
    ]
    data = "\r\n".join(lines).encode("ascii")
    return OptionsRequest(branch, call_id, from_tag, cseq, data)


@dataclass(frozen=True, slots=True)
class SipResponse:
    code: int
    reason: str
    branch: str | None
    call_id: str | None
    cseq_number: int | None
    cseq_method: str | None

    @property
    def status_text(self) -> str:
        return f"{self.code} {self.reason}".strip()

    def answers(self, request: OptionsRequest) -> bool:
        """Whether this response belongs to ``request`` (branch, Call-ID and CSeq all match)."""
        return (
            self.branch == request.branch
            and self.call_id == request.call_id
            and self.cseq_number == request.cseq
            and self.cseq_method == "OPTIONS"
        )


@dataclass(frozen=True, slots=True)
class Exchange:
    """How one OPTIONS transaction ended: a matched final response, or why there was none."""

    response: SipResponse | None
    failure: str
    latency_ms: float | None


def _headers(head: str) -> dict[str, str]:
    """First value of each header (lower-case names, compact forms expanded, folding undone)."""
    out: dict[str, str] = {}
    unfolded = re.sub(r"\r?\n[ \t]+", " ", head)
    for line in unfolded.splitlines()[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise SipParseError(f"malformed header line {line[:40]!r}")
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        out.setdefault(key, value.strip())
    return out


def parse_response(data: bytes) -> SipResponse:
    """Parse one SIP response; raise ``SipParseError`` on anything that is not one."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError("reply too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("reply is not UTF-8") from None
    head = text.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    first = head.split("\n", 1)[0].rstrip("\r")
    m = _STATUS.match(first)
    if m is None:
        raise SipParseError(f"not a SIP response: {first[:40]!r}")
    headers = _headers(head)
    via = headers.get("via", "").split(",", 1)[0]
    branch_m = _BRANCH.search(via)
    cseq_number: int | None = None
    cseq_method: str | None = None
    cseq = headers.get("cseq", "").split()
    if len(cseq) == 2 and cseq[0].isdigit():
        cseq_number, cseq_method = int(cseq[0]), cseq[1].upper()
    return SipResponse(
        code=int(m.group(1)),
        reason=(m.group(2) or "").strip(),
        branch=branch_m.group(1) if branch_m else None,
        call_id=headers.get("call-id"),
        cseq_number=cseq_number,
        cseq_method=cseq_method,
    )


def branch_of_request(data: bytes) -> str | None:
    """The top Via branch of a request we sent (read back from an ICMP error's payload)."""
    text = data.decode("ascii", "replace")
    for line in text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("via", "v"):
            m = _BRANCH.search(value)
            return m.group(1) if m else None
    return None


class StreamFramer:
    """Cut a TCP/TLS byte stream into SIP messages by Content-Length (RFC 3261 §18.3)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            self._buf = self._buf.lstrip(b"\r\n")  # CRLF keep-alives between messages
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_MESSAGE:
                    raise SipParseError("header section too large")
                return out
            head = self._buf[:end].decode("utf-8", "replace")
            m = re.search(r"^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", head, re.I | re.M)
            if m is None:
                raise SipParseError("stream message without Content-Length")
            total = end + 4 + int(m.group(1))
            if total > MAX_MESSAGE:
                raise SipParseError("reply too large")
            if len(self._buf) < total:
                return out
            out.append(self._buf[:total])
            self._buf = self._buf[total:]
