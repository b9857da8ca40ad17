"""The emulated modem's AT command set (DCE side of TS 27.007 / 27.005), one method per command.

Every method takes the parsed arguments and returns the answer lines, or raises :class:`CmeError` /
:class:`CmsError`; the session turns those into ``+CME ERROR:`` in the form ``AT+CMEE`` selects.
The answers follow the specs, and the chosen :class:`~modem.emulator.profiles.Profile` where a
vendor's manual differs, not what our driver happens to expect. SMS commands are in
:mod:`modem.emulator.sms`, identity / operators / calls / USSD coding in
:mod:`modem.emulator.general`.
"""

from __future__ import annotations

import re

from modem.emulator.base import (
    Answer,
    CmeError,
    CmsError,
    Handler,
    PromptFor,
    arg,
    split_args,
    to_int,
)
from modem.emulator.general import IMEI, GeneralCommands
from modem.emulator.network import REASON_GROUPS, NetworkRefusal
from modem.emulator.sms import SmsCommands

__all__ = [
    "HANDLERS", "IMEI", "Answer", "CmeError", "CmsError", "Handler", "Interpreter", "PromptFor",
    "split_args",
]  # fmt: skip

_MMI = re.compile(r"(\*\*|\*#|##|\*|#)(21|67|61|62|002|004)(?:\*([+0-9]*))?(?:\*\d*)*#")
_MMI_REASON = {"21": 0, "67": 1, "61": 2, "62": 3, "002": 4, "004": 5}
_DIGITS = re.compile(r"\+?[0-9*#]{1,40}")


class Interpreter(SmsCommands, GeneralCommands):
    """Per-connection settings and every command handler (see ``HANDLERS``)."""

    def cmee(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CMEE: {self.err_mode}"]
        if op == "=?":
            return ["+CMEE: (0-2)"]
        mode = to_int(arg(args, 0), 0)
        if mode > 2:
            raise CmeError(3)
        self.err_mode = mode
        return []

    def cpin(self, op: str, args: list[str | None]) -> list[str]:
        net = self.net
        if op == "?":
            return [f"+CPIN: {net.sim_state}"]
        if op == "=?":
            return []
        if net.sim_state == "SIM PUK":
            raise CmeError(12)
        if net.sim_state == "READY" or not args or args[0] is None:
            raise CmeError(3)
        if args[0] == net.sim_pin:
            net.sim_state, net.pin_attempts_left = "READY", 3
        else:
            net.pin_attempts_left -= 1
            if net.pin_attempts_left <= 0:
                net.sim_state = "SIM PUK"
            self.emu.state_changed()
            raise CmeError(16)
        self.emu.state_changed()
        return []

    def registration_line(self, name: str, urc: bool) -> str:
        """``+CREG: [<n>,]<stat>[,<lac>,<ci>[,<AcT>]]`` as ``AT+CREG=<n>`` asks (§7.2)."""
        n = self.creg_n if name == "CREG" else self.cereg_n
        stat = 0 if self.emu.faults.no_network else self.net.registration
        if self.net.sim_state != "READY":
            stat = 0
        head = f"+{name}: " + ("" if urc else f"{n},") + str(stat)
        if n >= 2 and stat in (1, 5):
            area = self.net.lac if name == "CREG" else self.net.tac
            head += f',"{area}","{self.net.cell_id}",7'
        return head

    def _reg(self, name: str, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [self.registration_line(name, urc=False)]
        if op == "=?":
            return [f"+{name}: (0-2)"]
        n = to_int(arg(args, 0), 0)
        if n > 2:
            raise CmeError(3)
        setattr(self, "creg_n" if name == "CREG" else "cereg_n", n)
        return []

    def creg(self, op: str, args: list[str | None]) -> list[str]:
        return self._reg("CREG", op, args)

    def cereg(self, op: str, args: list[str | None]) -> list[str]:
        return self._reg("CEREG", op, args)

    def cscs(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f'+CSCS: "{self.charset}"']
        if op == "=?":
            return ['+CSCS: ("GSM","IRA","UCS2")']
        if not args or args[0] not in ("GSM", "IRA", "UCS2"):
            raise CmeError(4)
        self.charset = args[0]
        return []

    def clip_(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CLIP: {int(self.clip)},1"]
        if op == "=?":
            return ["+CLIP: (0,1)"]
        self.clip = to_int(arg(args, 0), 0) == 1
        return []

    # --- call forwarding (§7.11) -----------------------------------------------------------------
    def _number(self, raw: str | None) -> str | None:
        if raw is None or raw == "":
            return None
        raw = self.te_decode(raw) if self.charset == "UCS2" else raw
        if not _DIGITS.fullmatch(raw):
            raise CmeError(27)
        return raw

    def ccfc_lines(self, reason: int, cls: int) -> list[str]:
        """The query answer, in the profile's format."""
        lines = self.net.query_ccfc(reason, cls)
        if self.profile.ccfc_number_without_plus:
            lines = [line.replace('"+', '"', 1) for line in lines]
        if self.profile.ccfc_per_class_lines and lines == ["+CCFC: 0,7"]:
            lines = [f"+CCFC: 0,{b}" for b in (1, 2, 4) if cls & b]
        return lines

    async def ccfc(self, op: str, args: list[str | None]) -> list[str]:
        faults = self.emu.faults
        if faults.ccfc_unsupported:
            raise CmeError(4)
        if op == "=?":
            return ["+CCFC: (0-5)"]
        args = args + [None] * (8 - len(args))
        reason, mode = to_int(args[0]), to_int(args[1])
        if self.profile.ccfc_bare_modes and mode in (0, 1, 2, 4):
            args = args[:2] + [None] * 6
        number = self._number(args[2])
        ntype = to_int(args[3], 145 if number and number.startswith("+") else 129)
        cls, time = to_int(args[4], 7), (to_int(args[7]) if args[7] is not None else None)
        self.need_network()
        received = self.emu.desk.clock()
        await self.emu.network_delay("+CCFC")
        try:
            if mode == 2:
                return self.ccfc_lines(reason, cls)
            if faults.refuse_data_classes and cls & 6:
                raise CmeError(257)
            if not faults.ccfc_ignored:
                self.net.apply_ccfc(reason, mode, number, ntype, cls, time)
        except NetworkRefusal as exc:
            raise CmeError(exc.code) from exc
        self.emu.note_forwarding_write(self, f"+CCFC={reason},{mode},{number or ''}", received)
        self.emu.state_changed()
        return []

    def _mmi(self, code: str) -> list[str] | None:
        """Execute a TS 22.030 forwarding code; None if ``code`` is not one."""
        m = _MMI.fullmatch(code)
        if m is None:
            return None
        action, service, number = m.group(1), m.group(2), m.group(3) or None
        reason = _MMI_REASON[service]
        if action == "*#":
            if reason not in (0, 1, 2, 3):
                raise CmeError(3)
            return self.ccfc_lines(reason, 7)
        mode = {"**": 3, "*": 1, "#": 0, "##": 4}[action]
        if number and not _DIGITS.fullmatch(number):
            raise CmeError(27)
        try:
            self.net.apply_ccfc(
                reason, mode, number, 145 if (number or "")[:1] == "+" else 129, 7, None
            )
        except NetworkRefusal as exc:
            raise CmeError(exc.code) from exc
        self.emu.note_forwarding_write(self, f"D{code}", self.emu.desk.clock())
        self.emu.state_changed()
        return []

    async def dial(self, dial: str) -> list[str]:
        """``ATD<string>;``: supplementary-service codes (TS 22.030) answer like +CCFC."""
        self.need_network()
        await self.emu.network_delay("D")
        result = self._mmi(dial.rstrip(";"))
        if result is None:
            raise CmeError(3)  # no voice calls from the emulator
        return result

    async def cusd(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CUSD: {self.cusd_n}"]
        if op == "=?":
            return ["+CUSD: (0-2)"]
        n = to_int(arg(args, 0), 0)
        if n > 2:
            raise CmeError(3)
        self.cusd_n = 1 if n == 1 else (0 if n == 0 else self.cusd_n)
        raw = arg(args, 1)
        if raw is None or n == 2:
            return []
        self.need_network()
        code = self.ussd_in(raw, to_int(arg(args, 2), 15))
        await self.emu.network_delay("+CUSD")
        result = self._mmi(code)
        if result is None:
            text = "Unknown service code"
        elif result and result[0].startswith("+CCFC: 1"):
            text = "Call forwarding active: " + result[0].split('"')[1]
        elif result:
            text = "Call forwarding not active"
        else:
            text = "Service request accepted"
        body, dcs = self.ussd_out(text)
        self.emu.later(f'+CUSD: 0,"{body}",{dcs}', self)
        return []


HANDLERS = {
    "+CGMI": "cgmi", "+CGMM": "cgmm", "+CGMR": "cgmr", "+CGSN": "cgsn", "+CMEE": "cmee",
    "+GMI": "cgmi", "+GMM": "cgmm", "+GMR": "cgmr", "+GSN": "cgsn", "+GCAP": "gcap",
    "+CPIN": "cpin", "+CREG": "creg", "+CEREG": "cereg", "+CSQ": "csq", "+COPS": "cops",
    "+CFUN": "cfun", "+CSCS": "cscs", "+CMGF": "cmgf", "+CLIP": "clip_", "+CNMI": "cnmi",
    "+CCFC": "ccfc", "+CUSD": "cusd", "+CMGS": "cmgs", "+CMGR": "cmgr", "+CMGD": "cmgd",
    "+CMGL": "cmgl", "+CPMS": "cpms", "+CSCA": "csca", "+CSMS": "csms", "+CSMP": "csmp",
    "+CNMA": "cnma", "+CIMI": "cimi", "+CCID": "ccid", "+CNUM": "cnum", "+CLAC": "clac",
    "+CLCC": "clcc", "+CHUP": "chup", "+CRC": "crc_", "+CVHU": "cvhu",
    "^USSDMODE": "ussdmode",
}  # fmt: skip
assert set(REASON_GROUPS) == set(range(6))
