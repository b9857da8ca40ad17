"""The AT commands we send, declared once: name, response prefix, timeout class, prompt.

Why a table: the parser needs each command's response prefix to tell an answer line from an
unsolicited result code, and the driver needs to know which commands travel to the network (and so
get the long timeout). Builders below are the only place a command line is assembled, and every
argument that could come from outside is validated first, so nothing untrusted reaches the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modem.e164 import validate_e164


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """How to read the answer to one AT command.

    ``prefix`` None means the answer is bare text (``AT+CGMI`` → ``Quectel``). ``data_after``
    names an answer line after which exactly one raw data line follows (``+CMGR:`` then the PDU or
    the SMS text), which must never be read as ``OK`` or a URC even if the SMS says "OK".
    """

    name: str
    prefix: str | None = None
    network: bool = False
    prompt: bool = False
    data_after: str | None = None
    dial: bool = False


_SPECS = (
    CommandSpec("AT"),
    CommandSpec("E"),
    CommandSpec("+CMEE"),
    CommandSpec("+CGMI"),
    CommandSpec("+CGMM"),
    CommandSpec("+CGMR"),
    CommandSpec("+CGSN"),
    CommandSpec("+CPIN", "+CPIN:"),
    CommandSpec("+CREG", "+CREG:"),
    CommandSpec("+CEREG", "+CEREG:"),
    CommandSpec("+CSQ", "+CSQ:"),
    CommandSpec("+COPS", "+COPS:", network=True),
    CommandSpec("+CSCS", "+CSCS:"),
    CommandSpec("+CMGF", "+CMGF:"),
    CommandSpec("+CLIP", "+CLIP:"),
    CommandSpec("+CNMI", "+CNMI:"),
    CommandSpec("+CFUN", "+CFUN:", network=True),
    CommandSpec("+CCFC", "+CCFC:", network=True),
    CommandSpec("+CUSD", "+CUSD:", network=True),
    CommandSpec("D", "+CCFC:", network=True, dial=True),
    CommandSpec("+CMGS", "+CMGS:", network=True, prompt=True),
    CommandSpec("+CMGR", "+CMGR:", data_after="+CMGR:"),
    CommandSpec("+CMGD"),
)
COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}

REASON_CODES = {"unconditional": 0, "busy": 1, "no-reply": 2, "not-reachable": 3}
MMI_SERVICE = {0: "21", 1: "67", 2: "61", 3: "62", 4: "002", 5: "004"}  # TS 22.030 Annex B
VOICE_CLASS = 1
TYPE_INTERNATIONAL, TYPE_UNKNOWN = 145, 129

_PIN = re.compile(r"[0-9]{4,8}")
_SAFE_LINE = re.compile(r"AT[\x20-\x7e]*")


class BadArgument(ValueError):
    """An argument that must not reach the modem (raised before anything is sent)."""


def checked(line: str) -> str:
    """Return ``line`` if it is one printable-ASCII AT command line, else raise.

    Defence in depth: builders already validate their inputs; this refuses CR, LF, Ctrl-Z and ESC
    in any case, because each of those ends or cancels a command on the serial line.
    """
    if not _SAFE_LINE.fullmatch(line):
        raise BadArgument(f"refusing to send a non-printable command line: {line!r}")
    return line


def ccfc(reason: int, mode: int, number: str | None = None, cls: int = VOICE_CLASS) -> str:
    """``AT+CCFC=<reason>,<mode>[,"<number>",<type>],<class>`` (TS 27.007 §7.11)."""
    if reason not in range(6) or mode not in range(5):
        raise BadArgument(f"bad +CCFC reason/mode: {reason},{mode}")
    if number is None:
        return checked(f"AT+CCFC={reason},{mode},,,{cls}")
    number = validate_e164(number)
    return checked(f'AT+CCFC={reason},{mode},"{number}",{TYPE_INTERNATIONAL},{cls}')


def ccfc_query(reason: int) -> str:
    """A status query: no class, so the network reports every class (``+CCFC: 0,7`` = none)."""
    if reason not in range(4):
        raise BadArgument(f"+CCFC query needs reason 0-3, not {reason}")
    return checked(f"AT+CCFC={reason},2")


def mmi_register(reason: int, number: str) -> str:
    """``ATD**21*<number>#;``: register and activate through a supplementary-service code."""
    return checked(f"ATD**{MMI_SERVICE[reason]}*{validate_e164(number)}#;")


def mmi_erase(reason: int) -> str:
    return checked(f"ATD##{MMI_SERVICE[reason]}#;")


def mmi_interrogate(reason: int) -> str:
    return checked(f"ATD*#{MMI_SERVICE[reason]}#;")


def cpin(pin: str) -> str:
    """``AT+CPIN="<pin>"``; the caller must never log the returned line."""
    if not _PIN.fullmatch(pin):
        raise BadArgument("SIM PIN must be 4 to 8 digits")
    return checked(f'AT+CPIN="{pin}"')


def cmgs_pdu(tpdu_length: int) -> str:
    if not 1 <= tpdu_length <= 176:
        raise BadArgument(f"bad TPDU length {tpdu_length}")
    return checked(f"AT+CMGS={tpdu_length}")


def cmgs_text(number: str) -> str:
    return checked(f'AT+CMGS="{validate_e164(number)}",{TYPE_INTERNATIONAL}')


def index_command(name: str, index: int) -> str:
    """``AT+CMGR=<index>`` / ``AT+CMGD=<index>`` with an index taken from a URC (validated)."""
    if name not in ("+CMGR", "+CMGD") or not 0 <= index <= 65535:
        raise BadArgument(f"bad {name} index {index}")
    return checked(f"AT{name}={index}")


def spec_for(line: str) -> CommandSpec:
    """The spec for an assembled command line (``AT+CCFC=0,2`` → ``+CCFC``, ``ATD..`` → ``D``)."""
    body = line[2:]
    if body.startswith("D"):
        return COMMANDS["D"]
    if body.startswith("E"):
        return COMMANDS["E"]
    name = re.match(r"[+^][A-Z]+", body)
    if name and name.group(0) in COMMANDS:
        return COMMANDS[name.group(0)]
    return COMMANDS["AT"]
