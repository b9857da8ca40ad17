"""The event log: survives a reopen, pages by time, keeps its size bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.config import Route
from controller.loop.events import EventStore, NewEvent

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_events_survive_a_reopen_with_every_field(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    store.append(
        NewEvent(
            kind="actuation",
            reason="modem: forwarding to +420212000002",
            route_from=Route.PRIMARY,
            route_to=Route.SECONDARY,
            who=None,
            epoch=3,
            outcome="ok",
            duration_ms=212.5,
            details={"attempts": 1},
        ),
        T0,
    )
    store.close()
    again = EventStore(tmp_path / "e.db")
    (ev,) = again.list()
    assert (ev.kind, ev.route_from, ev.route_to, ev.epoch, ev.outcome, ev.duration_ms) == (
        "actuation",
        Route.PRIMARY,
        Route.SECONDARY,
        3,
        "ok",
        212.5,
    )
    assert ev.at == T0 and ev.details == {"attempts": 1}
    again.close()


def test_since_pages_forward_and_no_since_gives_the_latest(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    for i in range(10):
        store.append(NewEvent(kind="decision", reason=str(i)), T0 + timedelta(seconds=i))
    assert [e.reason for e in store.list(limit=3)] == ["7", "8", "9"]
    assert [e.reason for e in store.list(since=T0 + timedelta(seconds=4), limit=3)] == [
        "5",
        "6",
        "7",
    ]
    naive = (T0 + timedelta(seconds=8)).replace(tzinfo=None)
    assert [e.reason for e in store.list(since=naive)] == ["9"]
    assert store.count("decision") == 10 and store.count("switch") == 0
    store.close()


def test_old_events_are_pruned(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db", keep=500)
    for i in range(3000):
        store.append(NewEvent(kind="decision", reason=str(i)))
    assert 500 <= store.count() <= 500 + EventStore.PRUNE_EVERY
    assert store.list(limit=1)[0].reason == "2999"
    store.close()
