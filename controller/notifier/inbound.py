"""SMS commands from technicians: ``ACK`` (acknowledge) and ``STATUS``, in any configured language.

- ``ACK``, ``ok``, ``Beru`` ... (the ``ack_words`` of each configured language, any case), then
  optionally the incident's code, then any words (``ACK K7M2Q9 jedu na to``). Without a code the
  sender's one open incident is meant; with several open, the reply lists them.
- ``STATUS`` / ``stav``: the route in force and the open incidents.

Every command from a technician gets a reply (``#3 acknowledged, reminders stopped``, or why not);
SMS from anyone else get none (and are logged masked), so a stranger learns nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from controller.notifier.delivery import mask
from controller.notifier.incidents import (
    _CODE_ALPHABET,
    CODE_LENGTH,
    Incident,
    technician_recipient,
)
from controller.notifier.messages import what
from controller.notifier.texts import Texts, local, route_words
from modem.e164 import is_e164

if TYPE_CHECKING:
    from controller.notifier.service import Notifier

log = logging.getLogger("hotline.notifier")


def parse(text: str, ack_words: set[str], status_words: set[str]) -> tuple[str, str | None] | None:
    """``("ack", code|None)``, ``("status", None)`` or None (not a command)."""
    words = text.strip().split()
    if not words:
        return None
    first = words[0].strip(".,!?:;").lower()
    if first in status_words:
        return ("status", None)
    if first not in ack_words:
        return None
    code = words[1].strip(".,!:;#").upper() if len(words) > 1 else ""
    if len(code) == CODE_LENGTH and all(c in _CODE_ALPHABET for c in code):
        return ("ack", code)
    return ("ack", None)


def _open_list(n: Notifier, t: Texts, incs: list[Incident]) -> str:
    def short(text: str) -> str:
        return text if len(text) <= 40 else text[:38].rstrip() + ".."

    return ", ".join(f"#{i.id} {i.code} ({short(what(t, n.say.comps, i))})" for i in incs) or "-"


async def handle_sms(n: Notifier, sender: str, text: str) -> bool:
    """Act on a technician's command and queue the reply; True if it was a command."""
    tech = next((t for t in n.cfg.oncall.technicians if t.mobile == sender), None)
    if not is_e164(sender) or tech is None:
        log.warning("notifier.sms_ignored sender=%s reason=unknown_sender", mask(sender))
        return False
    every = n.say.all_texts()
    acks = {w for t in every for w in t.words("ack_words")}
    statuses = {w for t in every for w in t.words("status_words")}
    command = parse(text, acks, statuses)
    if command is None:
        log.info("notifier.sms_ignored sender=%s reason=not_a_command", mask(sender))
        return False
    t = n.say.texts(tech.name)
    now = n.clock()
    opened = n.store.incidents(state="open", limit=20)
    if command[0] == "status":
        route = n.route_now() if n.route_now is not None else None
        words = route_words(t, route, n.say.oncall(now), tech.name)
        listing = t.fill(t.raw("status_open"), open=_open_list(n, t, opened)) if opened else ""
        reply = t.fill(
            t.raw("status"), at=local(now, n.tz), route=words, open=listing or t.raw("ack_none")
        )
        n.say.reply(technician_recipient(tech), reply.strip(), now, "status")
        return True
    reply = await _ack(n, t, tech.name, command[1], opened)
    n.say.reply(technician_recipient(tech), reply, now, "ack")
    return True


async def _ack(n: Notifier, t: Texts, who: str, code: str | None, opened: list[Incident]) -> str:
    if code is None:
        if not opened:
            return t.raw("ack_none")
        if len(opened) > 1:
            return t.fill(t.raw("ack_which"), open=_open_list(n, t, opened))
        inc = opened[0]
    else:
        found = n.store.open_incident_by_code(code)
        if found is None:
            log.warning("notifier.ack_refused by=%s reason=unknown_code", who)
            listing = _open_list(n, t, opened) if opened else t.raw("ack_none")
            return t.fill(t.raw("ack_wrong"), code=code, open=listing)
        inc = found
    if inc.acked_at is not None:
        return t.fill(t.raw("ack_already"), id=inc.id, who=inc.acked_by or "?")
    await n.acknowledge(inc.id, who, "sms")
    return t.fill(t.raw("ack_ok"), id=inc.id)
