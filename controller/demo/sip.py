"""A tiny SIP OPTIONS responder for the demo lab (UDP), used when a trunk or PBX node must
"answer" or "go silent" on command.

``reply_to`` is pure: bytes of a request in, bytes of a response out (or None). The responder copies
Via, From, To (adding a tag), Call-ID and CSeq as RFC 3261 §8.2.6 asks.
"""

from __future__ import annotations

import asyncio
import secrets

_COPY = ("via", "from", "to", "call-id", "cseq")
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


def reply_to(data: bytes, code: int = 200) -> bytes | None:
    """The response to one OPTIONS request datagram; None for anything else."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    if not lines or not lines[0].startswith("OPTIONS ") or not lines[0].endswith(" SIP/2.0"):
        return None
    copied: list[str] = []
    have_tag = False
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        key = _COMPACT.get(name.strip().lower(), name.strip().lower())
        if not sep or key not in _COPY:
            continue
        value = value.strip()
        if key == "to":
            have_tag = ";tag=" in value
            if not have_tag:
                value += f";tag={secrets.token_hex(4)}"
        copied.append(
            f"{key.title().replace('Call-Id', 'Call-ID').replace('Cseq', 'CSeq')}: {value}"
        )
    if len(copied) < len(_COPY):
        return None
    out = [f"SIP/2.0 {code} {_REASONS.get(code, 'OK')}", *copied, "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()


class OptionsResponder(asyncio.DatagramProtocol):
    """Answers OPTIONS on one UDP port while ``answering``; silent (like a dead SBC) otherwise."""

    def __init__(self, name: str, code: int = 200) -> None:
        self.name = name
        self.code = code
        self.answering = True
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.answering or self.transport is None:
            return
        out = reply_to(data, self.code)
        if out is not None:
            self.answered += 1
            self.transport.sendto(out, addr)

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        return int(transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
