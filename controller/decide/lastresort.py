"""The last-resort rule (pure): whether a node cut off from the ZooKeeper quorum forwards the
hotline to the on-call mobile on its own. ``controller.loop.lastresort`` runs it (the serial
port's lock, the forward, the log line and the signal).

By default a node without a quorum does nothing: it cannot prove it leads, so it must not touch the
route (its lease lapses within ``lease_fraction`` × the session timeout). A total outage and a
broken network often come together, though, and then nobody would manage the hotline. One
exception keeps a caller reaching a person:

    the node that holds the modem on its *own* serial port (``/dev/...``, not rfc2217:// or
    socket://), which has had no ZooKeeper quorum for at least the session timeout (so it surely
    no longer leads) and whose own probes have seen a *total* outage for ``last_resort_after_s``,
    forwards the hotline to the on-call mobile — holding the exclusive lock on the serial port.

The serial port's lock is the fence that replaces the epoch there (``controller.loop.lastresort``
takes it); the rule fires once per outage.

``last_resort()`` takes monotonic times and returns a verdict with its reason in words operators
read; ``total_outage()`` says whether this node's own snapshot shows both lines down.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import HotlineConfig, Route
from controller.decide.decision import Topology, route_health
from health.model import HealthSnapshot, Status
from modem.url import is_local_device


@dataclass(frozen=True, slots=True)
class LastResortPolicy:
    after_s: float | None  # total outage this long before firing; None: rule disabled
    zk_grace_s: float  # no quorum this long first (the session timeout: we surely do not lead)


@dataclass(frozen=True, slots=True)
class LastResortInputs:
    modem_url: str
    oncall_number: str
    zk_lost_since: float | None  # monotonic; None while a ZooKeeper quorum answers
    total_outage_since: float | None  # monotonic; None unless this node's probes see it
    forwarding_to: str | None = None  # what this node last saw the modem forward to


@dataclass(frozen=True, slots=True)
class LastResortVerdict:
    fire: bool
    reason: str
    retry_in_s: float | None = None  # when the verdict may change by time alone


def _fmt(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"


def last_resort(
    inputs: LastResortInputs, policy: LastResortPolicy, now: float
) -> LastResortVerdict:
    """Whether the rule fires now, and why (or why not), in words operators read."""
    if policy.after_s is None:
        return LastResortVerdict(False, "last-resort rule disabled")
    if not is_local_device(inputs.modem_url):
        return LastResortVerdict(False, "the modem is not on this node's own serial port")
    if inputs.zk_lost_since is None:
        return LastResortVerdict(False, "ZooKeeper quorum reachable; the leader decides")
    lost = now - inputs.zk_lost_since
    if lost < policy.zk_grace_s:
        return LastResortVerdict(
            False,
            f"no ZooKeeper quorum for {_fmt(lost)}; waiting {_fmt(policy.zk_grace_s)}",
            policy.zk_grace_s - lost,
        )
    if inputs.total_outage_since is None:
        return LastResortVerdict(
            False,
            f"no ZooKeeper quorum for {_fmt(lost)}, no total "
            "outage seen here: not actuating without a quorum",
        )
    outage = now - inputs.total_outage_since
    if outage < policy.after_s:
        return LastResortVerdict(
            False,
            f"total outage for {_fmt(outage)} without a ZooKeeper quorum; last resort "
            f"after {_fmt(policy.after_s)}",
            policy.after_s - outage,
        )
    if inputs.forwarding_to == inputs.oncall_number:
        return LastResortVerdict(False, f"already forwarding to on-call {inputs.oncall_number}")
    return LastResortVerdict(
        True,
        f"last resort: no ZooKeeper quorum for {_fmt(lost)} and a total outage for "
        f"{_fmt(outage)}; forwarding the hotline to on-call {inputs.oncall_number}",
    )


def total_outage(snapshot: HealthSnapshot, cfg: HotlineConfig) -> bool:
    """Both lines down (their own paths, or the PBX cluster) in this node's own snapshot."""
    health = route_health(snapshot, Topology.from_config(cfg))
    return all(health[r].status is Status.DOWN for r in (Route.PRIMARY, Route.SECONDARY))
