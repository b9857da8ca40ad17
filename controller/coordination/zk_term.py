"""This node's standing in the cluster: session, election znode, leadership term and lease.

The state machine behind ``ZooKeeperCoordinator``'s answers (safety layers 1 and 2 of its module
docstring), apart from the I/O that feeds it: session events from kazoo, and the outcomes of the
campaign's round trips (a term won, a lease renewed, a fence passed, a round failed). Times are on
the monotonic clock, so a paused process wakes up with its lease already expired.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from kazoo.client import KazooState

log = logging.getLogger("hotline.coordination.zk")


class Standing:
    """Where this node stands; only ``ZooKeeperCoordinator`` and its campaign change it."""

    def __init__(self, node: str, lease_s: float) -> None:
        self.node = node
        self.lease_s = lease_s
        self.stopping = False
        self.connected = False
        self.session = "connecting"  # the last session event: connected / suspended / lost
        self.znode: str | None = None  # our election znode's name, once joined
        self.leader = False
        self.leader_name: str | None = None
        self.epoch = 0
        self.epoch_version = -1
        self.confirmed: float | None = None  # monotonic time the last good round trip was sent
        self.term_started: float | None = None
        self.lost_since: float | None = time.monotonic()  # no confirmed round trip yet
        self.transitions: deque[tuple[float, str, bool]] = deque(maxlen=100)
        """(monotonic time, what happened, may_actuate right after): for status and tests."""

    # ---- questions -----------------------------------------------------------------------------

    def lease_remaining(self) -> float:
        if self.confirmed is None:
            return 0.0
        return self.confirmed + self.lease_s - time.monotonic()

    def may_actuate(self) -> bool:
        """Leader, connected, and the lease (on our own monotonic clock) still running."""
        return self.leader and self.connected and self.lease_remaining() > 0

    # ---- session events (already on our loop) --------------------------------------------------

    def on_session(self, state: str) -> None:
        self.session = str(state).lower()
        if state == KazooState.CONNECTED:
            self.connected = True
            log.info("zk.session state=connected node=%s", self.node)
        elif state == KazooState.SUSPENDED:
            self.connected = False
            self.confirmed = None  # stop actuating now; resume only after a fresh confirmation
            self.lost_since = self.lost_since or time.monotonic()
            log.warning("zk.session state=suspended node=%s leader=%s", self.node, self.leader)
        elif state == KazooState.LOST:
            self.connected = False
            self.znode = None  # ephemeral nodes died with the session
            self.lost_since = self.lost_since or time.monotonic()
            self.drop("session lost")
            (log.info if self.stopping else log.error)("zk.session state=lost node=%s", self.node)
        self.note(str(state).lower())

    # ---- outcomes of round trips ---------------------------------------------------------------

    def round_ok(self) -> None:
        self.lost_since = None

    def round_failed(self) -> None:
        self.confirmed = None
        self.lost_since = self.lost_since or time.monotonic()

    def won(self, epoch: int, version: int, sent: float) -> None:
        """Our transaction took term ``epoch`` (the epoch znode is now at ``version``)."""
        self.epoch, self.epoch_version = epoch, version
        self.leader, self.leader_name = True, self.node
        self.term_started = sent
        self.confirmed = sent
        log.warning("zk.leadership won node=%s epoch=%d", self.node, epoch)
        self.note(f"won epoch {epoch}")

    def renewed(self, sent: float) -> None:
        """A round trip sent at ``sent`` found our term current: the lease runs from then."""
        if self.confirmed is None:
            self.confirmed = sent
            self.note("reconfirmed")
        self.confirmed = max(self.confirmed, sent)

    def fence_passed(self, epoch: int, sent: float) -> None:
        """``check_fence`` for ``epoch`` succeeded; extend the lease if that term still holds."""
        if self.leader and self.epoch == epoch and self.connected:
            self.confirmed = max(self.confirmed or 0.0, sent)

    def drop(self, why: str) -> None:
        """Stop leading now (hand-over, session lost, or our term is over)."""
        if self.leader:
            log.warning("zk.leadership lost node=%s epoch=%d why=%s", self.node, self.epoch, why)
        was = self.leader
        self.leader = False
        self.confirmed = None
        self.term_started = None
        if was:
            self.note(f"lost: {why}")

    def note(self, what: str) -> None:
        self.transitions.append((time.monotonic(), what, self.may_actuate()))
