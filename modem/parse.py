"""Pure parsers for answer lines and URCs (no I/O), shared by the driver and the tests.

Each parser takes the text the modem sent and returns plain values, raising :class:`ValueError` on a
line it cannot read, so a malformed or hostile answer never becomes a wrong belief.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(r'\s*("([^"]*)"|[^,]*)\s*(?:,|$)')

REGISTRATION = {
    0: "not-registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming",
}  # fmt: skip


def fields(line: str, prefix: str) -> list[str]:
    """``+CCFC: 1,1,"+420...",145`` with prefix ``+CCFC:`` → ['1', '1', '+420...', '145']."""
    if not line.startswith(prefix):
        raise ValueError(f"expected {prefix!r}: {line!r}")
    rest = line[len(prefix) :].strip()
    out: list[str] = []
    pos = 0
    for _ in range(64):
        m = _FIELD.match(rest, pos)
        if m is None or (m.end() == pos and pos >= len(rest)):
            break
        out.append(m.group(2) if m.group(2) is not None else m.group(1).strip())
        if m.end() >= len(rest):
            break
        pos = m.end()
    return out


@dataclass(frozen=True, slots=True)
class CcfcLine:
    status: int
    cls: int
    number: str | None
    type: int | None


def parse_ccfc(line: str) -> CcfcLine:
    f = fields(line, "+CCFC:")
    if len(f) < 2 or not f[0].isdigit() or not f[1].isdigit():
        raise ValueError(f"bad +CCFC line: {line!r}")
    number = f[2] if len(f) > 2 and f[2] else None
    ntype = int(f[3]) if len(f) > 3 and f[3].isdigit() else None
    if number is not None and ntype == 145 and not number.startswith("+"):
        number = "+" + number  # type 145 means international even when the modem drops the '+'
    return CcfcLine(int(f[0]), int(f[1]), number, ntype)


def voice_forwarding(lines: list[str]) -> tuple[bool, str | None]:
    """Whether voice (class bit 1) is forwarded, and where, from a query's ``+CCFC:`` lines."""
    for line in lines:
        entry = parse_ccfc(line)
        if entry.status == 1 and entry.cls & 1:
            return True, entry.number
    return False, None


def parse_registration(line: str, prefix: str) -> int:
    """``+CREG: <n>,<stat>[,...]`` (answer) or ``+CREG: <stat>[,...]`` (URC) → stat."""
    f = fields(line, prefix)
    if len(f) >= 2 and f[1].isdigit() and (len(f) == 2 or not f[1].startswith('"')):
        return int(f[1])
    if f and f[0].isdigit():
        return int(f[0])
    raise ValueError(f"bad {prefix} line: {line!r}")


def parse_csq(line: str) -> int | None:
    """``+CSQ: <rssi>,<ber>`` → dBm (−113 + 2·rssi), None for 99 (unknown)."""
    f = fields(line, "+CSQ:")
    if not f or not f[0].isdigit():
        raise ValueError(f"bad +CSQ line: {line!r}")
    rssi = int(f[0])
    if rssi == 99 or rssi > 31:
        return None
    return -113 + 2 * rssi


def parse_cops(line: str) -> str | None:
    f = fields(line, "+COPS:")
    return f[2] if len(f) >= 3 and f[2] else None


def parse_cpin(line: str) -> str:
    return line[len("+CPIN:") :].strip()


def parse_clip(line: str) -> str | None:
    """``+CLIP: "<number>",<type>,...`` → the caller's number (digits and '+' only) or None."""
    f = fields(line, "+CLIP:")
    if not f or not f[0]:
        return None
    number = f[0]
    if len(f) > 1 and f[1] == "145" and not number.startswith("+"):
        number = "+" + number
    return number if re.fullmatch(r"\+?[0-9]{1,20}", number) else None


def parse_cmti(line: str) -> int:
    f = fields(line, "+CMTI:")
    if len(f) < 2 or not f[1].isdigit():
        raise ValueError(f"bad +CMTI line: {line!r}")
    return int(f[1])


def parse_mr(lines: list[str] | tuple[str, ...]) -> int:
    for line in lines:
        if line.startswith("+CMGS:"):
            f = fields(line, "+CMGS:")
            if f and f[0].isdigit():
                return int(f[0])
    raise ValueError(f"no +CMGS reference in {lines!r}")


def parse_identity(lines: tuple[str, ...], prefix: str) -> str:
    """Bare-text answers (``AT+CGMI``) — some modems prefix them (``+CGMI: Quectel``)."""
    for line in lines:
        text = line[len(prefix) :].strip() if line.startswith(prefix) else line.strip()
        if text:
            return text.strip('"')
    return ""
