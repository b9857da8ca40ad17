"""Names and free text in the config file, restricted at load (issue 16).

Component, node, line, PBX-cluster and technician names travel into log lines, SMS and e-mail
alerts, ZooKeeper paths and the dashboard, and are matched against one another. So they are
identifiers: ``IDENTIFIER_PATTERN``, 1-63 ASCII letters, digits, ``_``, ``.`` and ``-``, starting
with a letter or digit. A ``\\x1a`` (which ends an SMS in text mode), a newline (which splits a log
line) or a bidi override (which makes a name read as another) is an error naming the key.

Descriptions and reasons are free text for people: any printable character, no control,
line-separator or bidi-format characters, at most ``TEXT_MAX`` characters.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from logsafe import is_unsafe

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
TEXT_MAX = 200

_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def check_identifier(value: str) -> str:
    """``value`` if it is an identifier, else a ValueError saying what is wrong with it.

    The message quotes the value raw: whoever shows it escapes it (``ConfigError`` does).
    """
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"'{value[:80]}' is not a name: use 1-63 of A-Z a-z 0-9 _ . - "
            "starting with a letter or a digit"
        )
    return value


def check_text(value: str) -> str:
    """``value`` if it is printable text without control or bidi characters, else ValueError."""
    for ch in value:
        if is_unsafe(ch):
            raise ValueError(f"must not contain control or bidi characters (found U+{ord(ch):04X})")
    return value


Identifier = Annotated[
    str, AfterValidator(check_identifier), Field(json_schema_extra={"pattern": IDENTIFIER_PATTERN})
]
"""A name other parts of the config (and the world) refer to."""

Text = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(check_text)]
"""Free text for people (a description, a reason)."""

# For API bodies: the set a JSON Schema pattern can state (so fuzzers generate what is accepted),
# the same as ``controller.api.bodies``' reason: C0/C1 controls, DEL, line/paragraph separators,
# LRM/RLM, bidi embeddings, overrides and isolates (and lone surrogates, which JSON cannot mean).
LINE_FORBIDDEN = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINE_FORBIDDEN = re.compile(f"[{LINE_FORBIDDEN}]")


def check_line(value: str) -> str:
    """``value`` if it holds none of ``LINE_FORBIDDEN`` (nor a lone surrogate), else ValueError."""
    bad = _LINE_FORBIDDEN.search(value)
    if bad is None:
        bad = re.search(r"[\ud800-\udfff]", value)
    if bad is not None:
        found = f"U+{ord(bad.group()):04X}"
        raise ValueError(f"must not contain control or bidi characters (found {found})")
    return value


Line = Annotated[
    str,
    AfterValidator(check_line),
    Field(json_schema_extra={"pattern": f"^[^{LINE_FORBIDDEN}]*$"}),
]
"""One line of text from an API client: no control, separator or bidi characters."""
