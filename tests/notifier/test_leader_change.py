"""A new leader continues the old leader's incidents: no second opening message, and the
resolution reaches everyone the old leader told (open incidents live in the shared state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from controller.notifier.service import Notifier
from controller.notifier.shared import SharedIncidents
from controller.notifier.store import NotifierStore
from tests.notifier.helpers import Clock, RecordingChannel, lab_config, signal


class Docs:
    """The coordinator's shared JSON documents (ZooKeeper when clustered), in memory."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.fail = False

    async def get(self, key: str) -> dict[str, Any] | None:
        if self.fail:
            raise OSError("no quorum")
        return self.docs.get(key)

    async def put(self, key: str, value: dict[str, Any] | None) -> None:
        if self.fail:
            raise OSError("no quorum")
        if value is None:
            self.docs.pop(key, None)
        else:
            self.docs[key] = value


def _node(tmp: Path, name: str, docs: Docs, clock: Clock) -> tuple[Notifier, RecordingChannel]:
    cfg = lab_config(subscribers={"critical": ["+420600111222"]})
    sms = RecordingChannel("modem_sms")
    n = Notifier(
        cfg, cfg.notifier, NotifierStore(tmp / f"{name}.sqlite3"), {"modem_sms": sms}, clock=clock
    )
    n.shared = SharedIncidents(docs)
    return n, sms


async def test_the_next_leader_adopts_instead_of_reopening(tmp_path: Path) -> None:
    docs, clock = Docs(), Clock()
    old, old_sms = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    await old.run_once()
    opened = {m.recipient for m in old_sms.sent}
    assert opened == {"alice", "+420600111222"}
    code = old.store.open_incident_for("outage").code
    assert docs.docs["incidents"]["outage"]["code"] == code

    # Leadership moves; the new leader's loop signals the same condition.
    new, new_sms = _node(tmp_path, "b", docs, clock)
    await new.signal(signal())
    await new.run_once()
    assert new_sms.sent == []  # nothing told twice
    adopted = new.store.open_incident_for("outage")
    assert adopted is not None and adopted.code == code  # the ACK code stays valid

    clock.advance(60)
    await new.signal(signal(active=False, summary="primary back", at=clock.now))
    await new.run_once()
    assert {m.recipient for m in new_sms.sent} == opened
    assert all(m.kind == "resolve" for m in new_sms.sent)
    assert "outage" not in docs.docs["incidents"]


async def test_a_resolution_seen_only_by_the_new_leader_still_reaches_everyone(
    tmp_path: Path,
) -> None:
    docs, clock = Docs(), Clock()
    old, _ = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    await old.run_once()
    new, new_sms = _node(tmp_path, "b", docs, clock)
    await new.signal(signal(active=False, summary="all lines up"))
    await new.run_once()
    assert {m.recipient for m in new_sms.sent} == {"alice", "+420600111222"}


async def test_an_acknowledgement_travels_with_the_incident(tmp_path: Path) -> None:
    docs, clock = Docs(), Clock()
    old, _ = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    inc = old.store.open_incident_for("outage")
    await old.acknowledge(inc.id, "alice", "api")
    new, _ = _node(tmp_path, "b", docs, clock)
    await new.signal(signal())
    assert new.store.open_incident_for("outage").acked_by == "alice"


async def test_unreachable_shared_state_never_blocks_an_alert(tmp_path: Path) -> None:
    docs, clock = Docs(), Clock()
    docs.fail = True
    node, sms = _node(tmp_path, "a", docs, clock)
    await node.signal(signal())
    await node.run_once()
    assert {m.recipient for m in sms.sent} == {"alice", "+420600111222"}


async def test_incident_numbers_continue_across_leaders(tmp_path: Path) -> None:
    """#1 opened by the old leader, resolved by the new one; the new one's next is #2, and the
    old leader, leading again, continues with #3 (not its own local #2)."""
    docs, clock = Docs(), Clock()
    old, _ = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    assert old.store.open_incident_for("outage").id == 1  # type: ignore[union-attr]
    new, new_sms = _node(tmp_path, "b", docs, clock)
    await new.signal(signal(active=False, summary="primary back"))
    await new.run_once()
    assert {m.sms_text.split(":")[0] for m in new_sms.sent} == {"HOTLINE RESOLVED #1"}
    await new.signal(signal(key="quorum", summary="ZooKeeper quorum lost"))
    assert new.store.open_incident_for("quorum").id == 2  # type: ignore[union-attr]
    await old.signal(signal(key="lastresort", summary="last resort"))
    assert old.store.open_incident_for("lastresort").id == 3  # type: ignore[union-attr]
    assert docs.docs["incident_numbers"] == {"next": 4}


class RecordingModem:
    """What ``build_notifier`` takes as the modem: ``send_sms`` (texts kept, kinds read back)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send_sms(self, number: str, text: str, *, retry: bool = True) -> list[int]:
        self.texts.append(text)
        return [len(self.texts)]


async def test_hand_over_through_the_coordinators_store_sends_nothing_new(
    tmp_path: Path,
) -> None:
    """Two nodes built as the daemon builds them (``build_notifier(shared=coordinator)``), one
    shared LocalCoordinator store: a hand-over sends no alert, the follower reminds nobody, the
    new leader resolves #1 and numbers its next incident #2."""
    from controller.coordination.local import LocalCoordinator
    from controller.notifier import build_notifier
    from tests.support.memory_coordinator import MemoryCoordinator

    store = LocalCoordinator(tmp_path / "state.db", "lab")
    await store.start()
    clock = Clock()
    nodes = {}
    for name in ("a", "b"):
        coord = MemoryCoordinator(name, store=store)
        coord.leader = name == "a"
        cfg = lab_config(reminder_interval_s=60, escalation_timeout_s=0)
        sms = RecordingModem()
        n = build_notifier(cfg, modem=sms, state_dir=tmp_path / name, clock=clock,
                           is_leader=coord.is_leader, shared=coord)  # fmt: skip
        nodes[name] = (n, coord, sms)
    (a, ca, a_sms), (b, cb, b_sms) = nodes["a"], nodes["b"]
    try:
        await a.signal(signal())
        await a.run_once()
        assert [t.split(":")[0] for t in a_sms.texts] == ["HOTLINE CRITICAL #1"]
        ca.leader, cb.leader = False, True  # hand-over
        await b.signal(signal())  # the new leader's loop signals what holds
        clock.advance(61)
        await a.run_once()
        await b.run_once()
        assert len(a_sms.texts) == 1  # the follower reminds nobody
        (reminder,) = b_sms.texts  # the leader does, with the same number and code
        assert reminder.startswith("HOTLINE REMINDER #1 ")
        assert reminder.endswith(a_sms.texts[0].rsplit(" ", 1)[1])
        await b.signal(signal(active=False, summary="calls back on primary", at=clock.now))
        await b.signal(signal(key="quorum", summary="ZooKeeper slow", at=clock.now))
        await b.run_once()
        assert [t.split(":")[0] for t in b_sms.texts[1:]] == [
            "HOTLINE RESOLVED #1",
            "HOTLINE CRITICAL #2",
        ]
    finally:
        a.store.close()
        b.store.close()
        await store.stop()


async def test_a_new_leader_lists_the_clusters_incidents_before_any_signal(
    tmp_path: Path,
) -> None:
    """Issue 13: after a hand-over the new leader lists the open incident (its number and
    code) on its first turn, without waiting for its loop to signal the outage again; ACK works
    there, and nobody is told anything twice."""
    docs, clock = Docs(), Clock()
    old, _ = _node(tmp_path, "a", docs, clock)
    await old.signal(signal())
    await old.run_once()
    first = old.store.open_incident_for("outage")
    assert first is not None
    new, new_sms = _node(tmp_path, "b", docs, clock)
    assert new.store.incidents(state="open") == []
    await new.run_once()  # the first turn as leader, no signal yet
    (listed,) = new.store.incidents(state="open")
    assert (listed.id, listed.code) == (first.id, first.code)
    assert new_sms.sent == []
    acked = await new.acknowledge(listed.id, "alice", "api")
    assert acked is not None and docs.docs["incidents"]["outage"]["acked_by"] == "alice"


async def test_a_stale_copy_is_closed_silently_when_leadership_returns(tmp_path: Path) -> None:
    """A leads and opens #1; B takes over and resolves it; when A leads again its copy of #1 is
    closed without a message, and the next outage opens #2, not an update of the stale #1."""
    docs, clock = Docs(), Clock()
    leading = {"a": True, "b": False}
    a, a_sms = _node(tmp_path, "a", docs, clock)
    b, _ = _node(tmp_path, "b", docs, clock)
    a.is_leader, b.is_leader = (lambda: leading["a"]), (lambda: leading["b"])
    await a.signal(signal())
    await a.run_once()
    leading.update(a=False, b=True)
    await a.run_once()  # a's turn as follower
    await b.signal(signal(active=False, summary="primary back"))
    await b.run_once()
    assert "outage" not in docs.docs["incidents"]
    leading.update(a=True, b=False)
    a_sms.sent.clear()
    await a.run_once()
    assert a.store.incidents(state="open") == []
    assert a_sms.sent == []  # closed silently: b told everyone
    clock.advance(60)
    await a.signal(signal(at=clock.now))
    await a.run_once()
    (again,) = a.store.incidents(state="open")
    assert again.id == 2 and any(m.kind == "open" for m in a_sms.sent)


async def test_an_unreadable_cluster_state_closes_nothing(tmp_path: Path) -> None:
    docs, clock = Docs(), Clock()
    a, _ = _node(tmp_path, "a", docs, clock)
    await a.signal(signal())
    await a.run_once()
    docs.fail = True
    a2 = Notifier(a.cfg, a.settings, a.store, a.channels, clock=clock)  # a restart of a
    a2.shared = SharedIncidents(docs)
    await a2.run_once()
    assert len(a2.store.incidents(state="open")) == 1
    assert a2._synced is False  # tried again on the next turn
