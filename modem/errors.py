"""Errors that carry the modem's own words: the numeric code, what it means, which command failed.

Why tables here: a modem in ``AT+CMEE=1`` mode answers ``+CME ERROR: 30``; an operator reading a log
at 3 a.m. needs "no network service", and the retry logic needs to know that 30 is worth retrying
while 16 (incorrect password) must never be retried. Codes from 3GPP TS 27.007 §9.2 (CME) and
TS 27.005 §3.2.5 (CMS).
"""

from __future__ import annotations

CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    2: "phone-adaptor link reserved",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    26: "dial string too long",
    27: "invalid characters in dial string",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    100: "unknown",
    257: "network rejected request",
    258: "retry operation",
    259: "invalid deflected to number",
    260: "deflected to own number",
    261: "unknown subscriber",
    262: "service not available",
    263: "unknown class",
    264: "unknown network message",
}

CMS_ERRORS: dict[int, str] = {
    1: "unassigned (unallocated) number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable, unspecified",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    96: "invalid mandatory information",
    111: "protocol error, unspecified",
    127: "interworking, unspecified",
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    313: "SIM failure",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    500: "unknown error",
}

TRANSIENT_CME = frozenset({30, 31, 258})
"""Worth retrying with backoff: the network was briefly unreachable or asked us to retry."""
TRANSIENT_CMS = frozenset({38, 41, 42, 47, 331, 332})


class ModemError(Exception):
    """The modem or the network refused or failed a command.

    ``kind`` is ``"cme"`` (equipment/network, TS 27.007), ``"cms"`` (SMS, TS 27.005) or ``None``
    (a bare ``ERROR``, a timeout, a lost port).
    """

    def __init__(
        self,
        meaning: str,
        *,
        code: int | None = None,
        command: str | None = None,
        transient: bool | None = None,
        kind: str | None = None,
        final: str | None = None,
    ) -> None:
        self.code = code
        self.final = final  # the final result line as received, when there was one
        self.meaning = meaning
        self.command = command
        self.kind = kind
        if transient is None:
            table = TRANSIENT_CMS if kind == "cms" else TRANSIENT_CME
            transient = code is not None and kind is not None and code in table
        self.transient = transient
        where = f" ({command})" if command else ""
        label = f"{kind.upper()} ERROR {code}: " if kind and code is not None else ""
        super().__init__(f"{label}{meaning}{where}")


class ModemUnavailable(ModemError):
    """The port is gone or the modem does not answer at all."""


class ModemTimeout(ModemError):
    """No final result code within the command's timeout; the command's effect is unknown."""


class ForwardingNotVerified(ModemError):
    """The read-back after a forwarding change does not show what was asked."""


class PinRejected(ModemError):
    """The SIM refused the configured PIN. Never retried: three wrong PINs lock the SIM."""


def _meaning_from_text(text: str, table: dict[int, str]) -> tuple[int | None, str]:
    text = text.strip()
    if text.isdigit():
        code = int(text)
        return code, table.get(code, f"unknown error code {code}")
    for code, meaning in table.items():  # verbose mode (AT+CMEE=2): map the words back
        if meaning.lower() == text.lower():
            return code, meaning
    return None, text or "unspecified error"


def error_from_final(final: str, command: str | None) -> ModemError:
    """The error for a final result line other than ``OK`` (``ERROR``, ``+CME ERROR: 30``)."""
    for prefix, kind, table in (
        ("+CME ERROR:", "cme", CME_ERRORS),
        ("+CMS ERROR:", "cms", CMS_ERRORS),
    ):
        if final.startswith(prefix):
            code, meaning = _meaning_from_text(final[len(prefix) :], table)
            return ModemError(meaning, code=code, command=command, kind=kind, final=final)
    if final == "ERROR":
        return ModemError("command rejected (plain ERROR)", command=command, final=final)
    return ModemError(
        final.lower(), command=command, final=final
    )  # NO CARRIER, BUSY, NO ANSWER, NO DIALTONE
