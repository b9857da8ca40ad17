"""Where ``modem.pdu`` uses python-gsmmodem's PDU code and where it replaces it (README, modem).

The library's GSM-7 path crashes on "ÿ" (U+00FF: its extension table maps it to a page break,
then ``ord()`` meets an int): ``encodeSmsSubmitPdu`` raises TypeError for a text the library
itself first judges GSM-7. Ours decides the alphabet first and builds such texts as UCS-2; every
part is then decoded again with the library's decoder and must give back the exact text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from gsmmodem import pdu as gsmpdu

from modem.pdu import concat_info, decode, deliver_chunks, encode_deliver, encode_submit


@pytest.mark.parametrize("text", ["ÿ", "aÿ", "Hotline ÿes"])
def test_library_crashes_on_y_diaeresis_ours_sends_ucs2(text: str) -> None:
    with pytest.raises(TypeError):
        gsmpdu.encodeSmsSubmitPdu("+420601000111", text, reference=1)
    parts = encode_submit("+420601000111", text, reference=1)
    assert [decode(p.hex)["text"] for p in parts] == [text]
    assert decode(parts[0].hex)["type"] == "SMS-SUBMIT"


def test_gsm7_still_goes_through_the_library() -> None:
    ours = encode_submit("+420601000111", "Hotline switched", reference=7)
    lib = gsmpdu.encodeSmsSubmitPdu("+420601000111", "Hotline switched", reference=7,
                                    requestStatusReport=False)  # fmt: skip
    assert [p.hex for p in ours] == [bytes(p.data).hex().upper() for p in lib]


@pytest.mark.parametrize("text", ["x" * 400, "Příliš žluťoučký kůň " * 12, "{[~]}" * 70])
def test_incoming_parts_carry_the_concatenation_header(text: str) -> None:
    chunks = deliver_chunks(text)
    assert len(chunks) > 1
    when = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    decoded = [
        decode(encode_deliver("+420601000999", c, when, (9, len(chunks), n))[0])
        for n, c in enumerate(chunks, start=1)
    ]
    assert [concat_info(d) for d in decoded] == [
        (9, len(chunks), n) for n in range(1, len(chunks) + 1)
    ]
    assert "".join(str(d["text"]) for d in decoded) == text
