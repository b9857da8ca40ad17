"""Which channel a message goes to next: the delivery rules as one pure function.

A message (one transition for one recipient) lists its channels in order of preference. It waits
on one channel at a time (its *cursor*); each channel has its own worker, so a hung SMTP server
delays no SMS. After an attempt:

- ``sent``: done.
- ``transient``: the next channel not yet tried in this round gets it at once; when every
  channel left was tried, the round failed and the first one gets it again after a capped
  exponential backoff. Rounds repeat until delivery or expiry (``max_age_s``). A channel that
  delivers a message after a failure has its waiting queue made due at once (it recovered).
- ``permanent``: that channel is never tried again for this message; as for transient otherwise.
  When no channel is left, the message is undeliverable.
- ``unknown``: the channel may have delivered it. One second copy goes out on the next channel
  (never on the same one); when that copy's outcome is known or unknown, the message is done.
  Without another channel the message is done as ``unknown``: at most two copies, ever.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

Result = Literal["sent", "permanent", "transient", "unknown"]
State = Literal["pending", "sent", "unknown", "failed"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a message stands: transient failures this round, channels that refused for good,
    and the channel whose outcome was unknown (the first copy)."""

    tried: frozenset[str] = field(default_factory=frozenset)
    dead: frozenset[str] = field(default_factory=frozenset)
    unknown_on: str | None = None


@dataclass(frozen=True, slots=True)
class Next:
    state: State
    cursor: str | None  # the channel it waits on (pending only)
    progress: Progress
    backoff: bool = False  # a round failed: wait before the cursor's turn


def remaining(chain: Sequence[str], usable: Collection[str], p: Progress) -> list[str]:
    """Channels still allowed to carry the message, in order of preference."""
    return [c for c in chain if c in usable and c not in p.dead and c != p.unknown_on]


def first_cursor(chain: Sequence[str], usable: Collection[str], p: Progress) -> str | None:
    left = remaining(chain, usable, p)
    return left[0] if left else None


def after(
    chain: Sequence[str], usable: Collection[str], p: Progress, channel: str, result: Result
) -> Next:
    """The message's next step after ``channel`` answered ``result``."""
    if result == "sent":
        return Next("sent", None, p)
    if result == "unknown":
        if p.unknown_on is not None:
            return Next("unknown", None, p)  # the second copy is unknown too: stop here
        p = Progress(p.tried, p.dead, channel)
        left = remaining(chain, usable, p)
        if not left:
            return Next("unknown", None, p)
        return Next("pending", left[0], Progress(frozenset(), p.dead, channel))
    if result == "permanent":
        p = Progress(p.tried, p.dead | {channel}, p.unknown_on)
    else:
        p = Progress(p.tried | {channel}, p.dead, p.unknown_on)
    left = remaining(chain, usable, p)
    if not left:
        return Next("unknown" if p.unknown_on else "failed", None, p)
    untried = [c for c in left if c not in p.tried]
    if untried:
        return Next("pending", untried[0], p)
    return Next("pending", left[0], Progress(frozenset(), p.dead, p.unknown_on), backoff=True)
