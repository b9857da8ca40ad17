"""SMS PDUs (TS 23.040) and text hygiene (TS 23.038), on python-gsmmodem-new's ``gsmmodem.pdu``.

Why wrap the library: its SMS-SUBMIT encoder does GSM-7 septet packing and concatenation headers
well, but it accepts any text and any address, and it crashes on some non-GSM characters (ÿ) while
deciding the alphabet. We clean the text first (no control characters, only the Basic Multilingual
Plane, which is all UCS-2 can carry), validate the number as E.164, let the library encode GSM-7
texts, build UCS-2 parts ourselves (plain TS 23.040 octets), and then decode every PDU with the
library's decoder and check that the parts join back to exactly the text we meant to send, so an
encoder bug becomes a loud error instead of a garbled SMS to the on-call technician. The library
has no SMS-DELIVER encoder; the emulator needs one, so :func:`encode_deliver` is ours.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from gsmmodem import pdu as gsmpdu
from gsmmodem.exceptions import EncodingError

from modem.e164 import validate_e164

MAX_PARTS = 20


class PduError(ValueError):
    """A PDU that could not be built or decoded faithfully."""


@dataclass(frozen=True, slots=True)
class SubmitPdu:
    """One SMS-SUBMIT part: hex octets (with the empty SMSC field) and the TPDU length for +CMGS."""

    hex: str
    tpdu_length: int


def clean_text(text: str) -> str:
    """Make ``text`` safe to send: newlines kept as LF, other control characters dropped.

    Ctrl-Z (0x1A) or ESC (0x1B) would end or cancel the message on the serial line in text mode,
    and CR would end the command; characters outside the BMP cannot be carried by UCS-2 and become
    U+FFFD rather than a corrupt surrogate.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch == "\x7f":
            continue
        elif ord(ch) > 0xFFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def is_gsm7(text: str) -> bool:
    """Whether ``text`` fits the GSM 7-bit default alphabet (with its extension table).

    The library's extension table maps U+00FF (ÿ) to a page break and then crashes on it
    (``TypeError``); ÿ is not GSM-7, so we say so before the library is asked.
    """
    if "\u00ff" in text:
        return False
    try:
        gsmpdu.encodeGsm7(text)
    except (ValueError, TypeError):
        return False
    return True


def to_text_mode(text: str) -> str:
    """Text for ``AT+CMGF=1`` with ``AT+CSCS="GSM"``: one line of printable ASCII.

    Diacritics are dropped (ř → r) rather than risking a modem that reads the bytes differently.
    """
    text = clean_text(text).replace("\n", " ")
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return "".join(ch if " " <= ch <= "~" else "?" for ch in plain)


def encode_submit(number: str, text: str, reference: int) -> list[SubmitPdu]:
    """SMS-SUBMIT PDUs for ``text`` (concatenated when long), verified by decoding them again."""
    number = validate_e164(number)
    text = clean_text(text)
    if not text:
        raise PduError("empty SMS text")
    if is_gsm7(text):
        try:
            parts = gsmpdu.encodeSmsSubmitPdu(
                number, text, reference=reference & 0xFF, requestStatusReport=False
            )
        except (ValueError, TypeError, EncodingError) as exc:
            raise PduError(f"cannot encode SMS: {exc}") from exc
        out = [SubmitPdu(bytes(p.data).hex().upper(), p.tpduLength) for p in parts]
    else:
        out = _encode_ucs2_submit(number, text, reference & 0xFF)
    if len(out) > MAX_PARTS:
        raise PduError(f"SMS too long: {len(out)} parts (at most {MAX_PARTS})")
    _verify(out, number, text)
    return out


def _encode_ucs2_submit(number: str, text: str, reference: int) -> list[SubmitPdu]:
    """UCS-2 SMS-SUBMIT parts: 70 characters alone, 67 per part with a concatenation header.

    Ours rather than the library's because the library first tries GSM-7 and crashes on some
    characters (see :func:`is_gsm7`); the octets are plain TS 23.040 and are verified all the same.
    """
    chunks = [text] if len(text) <= 70 else [text[i : i + 67] for i in range(0, len(text), 67)]
    if len(chunks) > MAX_PARTS:
        raise PduError(f"SMS too long: {len(chunks)} parts (at most {MAX_PARTS})")
    out = []
    for n, chunk in enumerate(chunks, start=1):
        udh = bytes([5, 0x00, 3, reference, len(chunks), n]) if len(chunks) > 1 else b""
        ud = udh + chunk.encode("utf-16-be")
        first = 0x01 | (0x40 if udh else 0)  # SMS-SUBMIT, TP-UDHI when concatenated
        tpdu = bytes([first, reference]) + _address(number) + bytes([0x00, 0x08, len(ud)]) + ud
        out.append(SubmitPdu((b"\x00" + tpdu).hex().upper(), len(tpdu)))
    return out


def _verify(parts: list[SubmitPdu], number: str, text: str) -> None:
    decoded = [decode(p.hex) for p in parts]
    joined = "".join(str(d.get("text", "")) for d in decoded)
    numbers = {_international(str(d.get("number", ""))) for d in decoded}
    if joined != text or numbers != {number}:
        raise PduError("PDU encoder output does not decode back to the message")
    for p in parts:
        if p.tpdu_length != len(p.hex) // 2 - 1 or p.tpdu_length > 164:
            raise PduError(f"bad TPDU length {p.tpdu_length}")


def _international(number: str) -> str:
    return number if number.startswith("+") else "+" + number


def decode(hex_pdu: str) -> dict[str, object]:
    """Decode a PDU (SMS-SUBMIT or SMS-DELIVER, SMSC field first) or raise :class:`PduError`."""
    try:
        result: dict[str, object] = gsmpdu.decodeSmsPdu(hex_pdu)
    except (EncodingError, ValueError, StopIteration, IndexError, TypeError, KeyError) as exc:
        raise PduError(f"cannot decode PDU: {exc}") from exc
    return result


def concat_info(decoded: dict[str, object]) -> tuple[int, int, int] | None:
    """``(reference, parts, number)`` of a concatenated part, or None for a single SMS."""
    udh = decoded.get("udh")
    for ie in udh if isinstance(udh, list) else []:
        if isinstance(ie, gsmpdu.Concatenation):
            return int(ie.reference), int(ie.parts), int(ie.number)
    return None


def _address(number: str) -> bytes:
    digits = number.lstrip("+")
    toa = 0x91 if number.startswith("+") else 0x81
    return bytes([len(digits), toa]) + bytes(gsmpdu.encodeSemiOctets(digits))


def _timestamp(when: datetime) -> bytes:
    offset = when.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset else 0
    digits = when.strftime("%y%m%d%H%M%S") + f"{abs(quarters):02d}"
    octets = bytearray(gsmpdu.encodeSemiOctets(digits))
    if quarters < 0:
        octets[-1] |= 0x08  # sign bit of the time zone (TS 23.040 §9.2.3.11)
    return bytes(octets)


def deliver_chunks(text: str) -> list[str]:
    """``text`` cut as a network cuts an incoming SMS: one part, or 153 GSM-7 septets / 67 UCS-2
    characters per concatenated part (an escaped GSM-7 character is never split)."""
    text = clean_text(text)
    if is_gsm7(text):
        if len(gsmpdu.encodeGsm7(text)) <= 160:
            return [text]
        chunks, current = [], ""
        for ch in text:
            if len(gsmpdu.encodeGsm7(current + ch)) > 153:
                chunks.append(current)
                current = ""
            current += ch
        return [*chunks, current]
    if len(text) <= 70:
        return [text]
    return [text[i : i + 67] for i in range(0, len(text), 67)]


def encode_deliver(
    sender: str, text: str, when: datetime, part: tuple[int, int, int] | None = None
) -> tuple[str, int]:
    """One SMS-DELIVER PDU (hex, TPDU length) as a network would hand it to the modem;
    ``part`` = (reference, parts, number) adds the concatenation header (TS 23.040 §9.2.3.24.1)."""
    sender = validate_e164(sender)
    text = clean_text(text)
    udh = bytes([5, 0x00, 3, part[0] & 0xFF, part[1], part[2]]) if part else b""
    if is_gsm7(text):
        septets = gsmpdu.encodeGsm7(text)
        if len(septets) > (153 if part else 160):
            raise PduError("incoming SMS longer than one part")
        pad = 6 if part else 0  # fill bits after the 6-octet header (the library counts them so)
        dcs, udl = 0x00, len(septets) + (7 if part else 0)
        ud = udh + bytes(gsmpdu.packSeptets(septets, padBits=pad))
    else:
        if len(text) > (67 if part else 70):
            raise PduError("incoming SMS longer than one part")
        dcs, ud = 0x08, udh + bytes(gsmpdu.encodeUcs2(text))
        udl = len(ud)
    first = 0x04 | (0x40 if part else 0)  # SMS-DELIVER, more-messages-to-send 0, TP-UDHI
    tpdu = bytes([first]) + _address(sender) + bytes([0x00, dcs]) + _timestamp(when)
    tpdu += bytes([udl]) + ud
    return (b"\x00" + tpdu).hex().upper(), len(tpdu)
