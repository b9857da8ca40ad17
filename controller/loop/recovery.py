"""After a crash: what the first leading tick makes of a change marker left behind.

A kill -9 in the middle of a switch leaves the ``change`` marker (target route and number) and the
old route recorded. On a real network each +CCFC operation takes seconds, so the start-up path
asks the modem once and never more than it must (issue 19):

- the start-up read shows the marker's target: the interrupted change reached the network. The
  decision is taken as if that route were in force (since the marker was written); when it keeps
  the route (or holds), the route is adopted, verified by that read: no further modem operation;
- the read shows the old route: the change did not reach the network. The decision is taken
  afresh on the old route; a hold keeps it (verified by the read), a route is one change;
- the read failed or shows something else: a hold completes the interrupted change, a route is
  one change.

A write away from the marker's target (back to the old route, or to a third one) happens only
when the decision asks for that route, and its reason says so. The read is handed to the modem
actuator (``ModemActuator.trust``), so a change writes at once and is verified by the driver's one
read-back. A new leader without a marker but with a verified route record hands the record over as
a belief instead (``ModemActuator.assume``, issue 13): a different route is written at once, the
same one is verified by one read. No I/O here: the loop does the reading and the acting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.config import Route
from controller.decide.decision import Decision, RouteState
from controller.loop.actuators.modem import ModemActuator
from controller.loop.parts import FOREIGN, NONE
from controller.loop.state import MAX_SWITCHES, ChangeMarker, RouteRecord


@dataclass(frozen=True, slots=True)
class Resume:
    """What to decide on, and what a hold keeps, while a change marker is outstanding."""

    marker: ChangeMarker
    was: Route | None  # the route recorded (the one the interrupted change left)
    current: RouteState  # the route in force as far as the modem shows it
    fallback: Route  # the route a holding decision keeps
    seen: tuple[str | None] | None  # what the start-up read showed; None: not read
    holds_target: bool  # the read shows the marker's number
    holds_old: bool = False  # the read shows the recorded route's number

    def reason(self, desired: Route, decision: Decision) -> str:
        """Why ``desired`` is put in force now; mentions what the start-up read showed."""
        target, seen = self.marker.target, self._seen_text()
        if desired is target and self.holds_target:
            return (
                f"the modem {seen}, the interrupted change's target (read at start-up): "
                f"keeping {target}: {decision.reason}"
            )
        if desired is target:
            return f"completing the interrupted change to {target} ({seen}): {decision.reason}"
        if not self.reverses(desired):
            return (
                f"the interrupted change to {target} did not reach the modem ({seen}); "
                f"keeping {desired}: {decision.reason}"
            )
        return (
            f"not completing the interrupted change to {target} ({seen}): the decision requires "
            f"{desired}: {decision.reason}"
        )

    def reverses(self, desired: Route) -> bool:
        """Whether putting ``desired`` in force writes away from the interrupted change (not
        keeping the old route the modem still holds)."""
        return desired is not self.marker.target and not (self.holds_old and desired is self.was)

    def _seen_text(self) -> str:
        if self.seen is None:
            return "its forwarding not read"
        return f"forwards to {self.seen[0]}" if self.seen[0] else "forwards nowhere"


def plan(rec: RouteRecord, marker: ChangeMarker, seen: tuple[str | None] | None) -> Resume:
    """The state to decide on, given the start-up read ``seen`` (``(number,)``, or None)."""
    recorded = RouteState(rec.route, rec.since, rec.switches)
    if seen is not None and seen[0] == marker.number:
        switches = rec.switches
        if marker.target is not rec.route and rec.route is not None:
            switches = (*rec.switches, marker.started_at)[-MAX_SWITCHES:]
        current = RouteState(marker.target, marker.started_at, switches)
        return Resume(marker, rec.route, current, marker.target, seen, True)
    if seen is not None and rec.route is not None and seen[0] == rec.number:
        return Resume(marker, rec.route, recorded, rec.route, seen, False, True)
    return Resume(marker, rec.route, recorded, marker.target, seen, False)


def take_lead(
    modem: ModemActuator | None,
    rec: RouteRecord,
    marker: ChangeMarker | None,
    seen: tuple[str | None] | None,
) -> Resume | None:
    """Hand the modem actuator what is known on the first tick as the node that acts: the start-up
    read (this process, before any other modem operation) as proof, or else a verified record
    without a marker as belief; otherwise nothing (≤ 1 query before a write). The plan for an
    outstanding marker, if any."""
    if modem is not None:
        if seen is not None:
            modem.trust(seen[0])
        elif marker is None and rec.verified and not rec.failed and rec.number:
            modem.assume(rec.number)
    return None if marker is None else plan(rec, marker, seen)


def interrupted(marker: ChangeMarker, number: str | None, seen: str) -> str:
    """The ``recovery`` event's text: which change died, what the start-up read showed."""
    started = f"{marker.started_at:%H:%M:%S} UTC, epoch {marker.epoch}"
    return (
        f"a change to {marker.target} (started {started}) was interrupted; "
        f"the modem forwards to {number or 'nowhere'} ({seen})"
    )


def adopted(rec: RouteRecord, seen: str, number: str | None, now: datetime) -> RouteRecord | None:
    """Without a marker: the record for a route the modem holds other than the recorded one."""
    if seen in (FOREIGN, NONE) or number is None or (seen == rec.route and number == rec.number):
        return None
    route = Route(seen)
    since = now if route is not rec.route else rec.since or now
    return RouteRecord(route, number, since, True, False, None, "", rec.switches)
