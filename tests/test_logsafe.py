"""``logsafe.esc``: untrusted text made safe for one log line (issue 16, point 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from logsafe import LIMIT, esc, is_unsafe

ROOT = Path(__file__).resolve().parent.parent

CONTROLS = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
BIDI = [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
OTHER = ["\u200e", "\u200f", "\u2028", "\u2029", "\ufeff", "\u200b", "\udc80", "\ue000"]


@pytest.mark.parametrize("ch", CONTROLS + BIDI + OTHER, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_bidi_and_separator_char_is_escaped(ch: str) -> None:
    out = esc(f"a{ch}b")
    assert not any(is_unsafe(c) for c in out)
    assert out.startswith("a\\") and out.endswith("b")


def test_the_forged_line_of_the_issue_stays_one_line() -> None:
    forged = "a\n2026-12-01 09:00:00,000 level=CRITICAL logger=hotline.daemon FORGED x"
    assert (
        esc(forged) == "a\\n2026-12-01 09:00:00,000 level=CRITICAL logger=hotline.daemon FORGED x"
    )
    assert esc("x\r\n\t\x1b[2J\x00\u202e") == "x\\r\\n\\t\\x1b[2J\\x00\\u202e"


def test_a_backslash_is_escaped_so_an_escape_cannot_be_forged() -> None:
    assert esc("a\\nb") == "a\\\\nb"
    assert esc("a\\nb") != esc("a\nb")


def test_printable_text_is_kept() -> None:
    for text in ["trunk-a", "Jiří Novák", "+420601000999", "日本語", "a b=c"]:
        assert esc(text) == text
    assert esc(5) == "5" and esc(None) == "None"


def test_the_length_is_capped_and_says_how_much_was_left_off() -> None:
    assert esc("x" * 300) == "x" * LIMIT + "...(+100 chars)"
    out = esc("\x00" * 100, limit=20)
    assert out == "\\x00" * 5 + "...(+95 chars)"


def test_logsafe_imports_only_the_standard_library() -> None:
    """controller, health and modem all import it: it may import none of them."""
    tree = ast.parse((ROOT / "logsafe" / "__init__.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {n.split(".")[0] for n in names} <= set(sys.stdlib_module_names) | {"__future__"}
