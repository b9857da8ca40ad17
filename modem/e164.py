"""E.164 phone numbers: the only kind of number that may reach an AT command or an SMS.

A number is ``+`` followed by 8 to 15 digits, the first of which is not 0 (ITU-T E.164 country
codes never start with 0). Nothing else is accepted: no spaces, no dashes, no ``;`` that could
smuggle a second AT command onto the line (``+420;+CFUN=0``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class InvalidNumber(ValueError):
    """A phone number that is not E.164."""

    def __init__(self, value: object) -> None:
        super().__init__(f"not an E.164 number: {value!r}")
        self.value = value


def is_e164(value: object) -> bool:
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def validate_e164(value: object) -> str:
    """Return ``value`` if it is an E.164 number, else raise :class:`InvalidNumber`."""
    if not is_e164(value):
        raise InvalidNumber(value)
    assert isinstance(value, str)
    return value


def normalize(number: str) -> str:
    """The international form of a number a network reports: ``00420...`` and ``420...`` become
    ``+420...``. Networks may drop the ``+`` of an international number (type 145) or write 00;
    we only ever register international numbers, so both mean ``+``."""
    n = number.strip()
    if n.startswith("00") and n[2:].isdigit():
        return "+" + n[2:]
    if n.isdigit():
        return "+" + n
    return n


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two reported numbers are the same (``+420...``, ``00420...``, ``420...``)."""
    return a is not None and b is not None and normalize(a) == normalize(b)


def _pydantic_e164(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads an unquoted +420... as an integer and drops the plus sign.
        raise PydanticCustomError(
            "e164",
            "not an E.164 number: {value} (a number in YAML must be quoted: '+{value}')",
            {"value": value},
        )
    if not is_e164(value):
        raise PydanticCustomError("e164", "not an E.164 number: {value}", {"value": repr(value)})
    return str(value)


E164 = Annotated[str, BeforeValidator(_pydantic_e164)]
"""A pydantic field type: an E.164 number, validated at load."""
