"""SMS text hygiene: GSM-7 where possible, no control characters, a known length.

Our own templates use only GSM-7 characters so an alert fits one 160-character SMS; text from
elsewhere (a component's description, a technician's name) may force UCS-2, which is allowed
but costs length (70 characters per SMS). Control characters never reach an SMS: in text mode
0x1A would end the message and the rest would be read as AT commands (GSM-NOTES).
"""

from __future__ import annotations

import re

# TS 23.038 default alphabet (basic table) and the characters reachable through the escape table.
_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENDED = set("^{}\\[~]|€\f")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

SINGLE_SMS_GSM7 = 160
SINGLE_SMS_UCS2 = 70


def clean(text: str) -> str:
    """One line of printable text: control characters and runs of spaces become one space."""
    return re.sub(r" {2,}", " ", _CONTROL.sub(" ", text)).strip()


def is_gsm7(text: str) -> bool:
    return all(c in _BASIC or c in _EXTENDED for c in text)


def sms_units(text: str) -> int:
    """Length as the SMS encoding counts it: septets for GSM-7, UTF-16 units for UCS-2."""
    if is_gsm7(text):
        return sum(2 if c in _EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def single_sms_limit(text: str) -> int:
    return SINGLE_SMS_GSM7 if is_gsm7(text) else SINGLE_SMS_UCS2


def fit(head: str, middle: str, tail: str, limit: int | None = None) -> str:
    """``head + middle + tail``, shortening ``middle`` (with "..") so the whole fits one SMS.

    ``head`` and ``tail`` carry what the reader must act on (severity, ACK code) and are kept
    whole; only the free-text middle is cut. If even that cannot fit, the message is sent whole
    as a concatenated SMS rather than lose the acknowledgement code.
    """
    middle = clean(middle)
    whole = head + middle + tail
    cap = limit if limit is not None else single_sms_limit(whole)
    if sms_units(whole) <= cap:
        return whole
    room = cap - sms_units(head + tail) - 2
    if room < 10:
        return whole
    cut = middle
    while cut and sms_units(cut) > room:
        cut = cut[:-1]
    return head + cut.rstrip() + ".." + tail
