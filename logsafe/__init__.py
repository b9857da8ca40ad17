"""Untrusted text made safe for one log line: ``esc(value)``.

A log line is one event (STYLE: "every untrusted string escaped, so no input can start a line of
its own"). Text that came from outside (a request's key names and headers, a caller or agent
from the PBX, an SMS from the modem, names from the config file, data read from ZooKeeper) may
hold CR/LF, ESC sequences that repaint a terminal, NUL, or bidi overrides that make a line read
differently from what it holds. ``esc`` backslash-escapes all of them, and the backslash itself
so an escape cannot be forged either, then caps the length.

Escaped: C0/C1 controls and DEL (category Cc), format characters (Cf: bidi embeddings,
overrides and isolates U+202A-U+202E and U+2066-U+2069, LRM/RLM, zero-width joiners, BOM),
line and paragraph separators (Zl, Zp), lone surrogates (Cs, from surrogateescape decoding),
private-use and unassigned code points (Co, Cn). ``\\n``, ``\\r``, ``\\t`` keep their short
forms; every other one becomes ``\\xHH``, ``\\uHHHH`` or ``\\UHHHHHHHH``.

This package is imported by ``controller``, ``health`` and ``modem`` alike (``health`` and
``modem`` may not import ``controller``), so it imports nothing but the standard library.
"""

from __future__ import annotations

import unicodedata

__all__ = ["LIMIT", "esc", "is_unsafe"]

LIMIT = 200
"""Default cap, in characters of escaped output (a key name or a caller needs far fewer)."""

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_unsafe(ch: str) -> bool:
    """Whether the one character ``ch`` must not appear raw in a log line."""
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escape_char(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    if not is_unsafe(ch):
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def esc(value: object, limit: int = LIMIT) -> str:
    """``value`` (``str()`` of it unless a str) escaped and capped at ``limit`` characters.

    A capped value ends in ``...(+N chars)`` naming how many input characters were left off.
    """
    text = value if isinstance(value, str) else str(value)
    out: list[str] = []
    size = 0
    for i, ch in enumerate(text):
        piece = _escape_char(ch)
        if size + len(piece) > limit:
            out.append(f"...(+{len(text) - i} chars)")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)
