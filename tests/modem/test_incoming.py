"""Reassembly of concatenated incoming SMS (``modem.incoming``): order, duplicates, eviction."""

from __future__ import annotations

from modem.incoming import MAX_PENDING, Reassembly


def test_parts_in_any_order_join_once() -> None:
    given_up: list[tuple[str, str, int, int]] = []
    r = Reassembly(lambda *a: given_up.append(a))
    assert r.add("+420601000999", (5, 3, 3), "c") is None
    assert r.add("+420601000999", (5, 3, 1), "a") is None
    assert r.add("+420601000999", (5, 3, 1), "a") is None  # a repeated part changes nothing
    assert r.add("+420601000998", (5, 3, 2), "X") is None  # same reference, other sender
    assert r.add("+420601000999", (5, 3, 2), "b") == "abc"
    assert r.pending == 1 and given_up == []
    assert r.add("+420601000999", (5, 3, 4), "?") is None  # part number out of range: ignored


def test_a_lost_part_is_given_up_as_far_as_it_got() -> None:
    given_up: list[tuple[str, str, int, int]] = []
    r = Reassembly(lambda *a: given_up.append(a))
    r.add("+420601000001", (1, 2, 1), "first half")
    for ref in range(2, MAX_PENDING + 2):
        r.add("+420601000002", (ref, 2, 1), "x")
    assert given_up == [("+420601000001", "first half", 1, 2)]
    assert r.pending == MAX_PENDING
