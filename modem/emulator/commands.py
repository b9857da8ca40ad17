"""The emulated modem's AT command set (DCE side of TS 27.007 / 27.005), one method per command.

Every method takes the parsed arguments and returns the answer lines, or raises :class:`CmeError` /
:class:`CmsError`; the session turns those into ``+CME ERROR:`` in the form ``AT+CMEE`` selects.
The answers follow the specs (and common vendor behaviour where the spec leaves room), not what our
driver happens to expect.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from modem.emulator.network import REASON_GROUPS, NetworkRefusal, NetworkState
from modem.pdu import PduError, encode_deliver

if TYPE_CHECKING:
    from modem.emulator.core import ModemEmulator

IMEI = "356938035643809"
_MMI = re.compile(r"(\*\*|\*#|##|\*|#)(21|67|61|62|002|004)(?:\*([+0-9]*))?(?:\*\d*)*#")
_MMI_REASON = {"21": 0, "67": 1, "61": 2, "62": 3, "002": 4, "004": 5}
_DIGITS = re.compile(r"\+?[0-9*#]{1,40}")


class CmeError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CmsError(CmeError):
    pass


class PromptFor:
    """Returned by +CMGS: the session shows ``> `` and collects the body for ``finish``."""

    def __init__(self, finish: Callable[[str], Awaitable[list[str]]]) -> None:
        self.finish = finish


Answer = list[str] | PromptFor
Handler = Callable[[str, list[str | None]], Answer | Awaitable[Answer]]
"""An ``Interpreter`` method for one command: (operator, arguments) -> answer lines or a prompt."""


def split_args(text: str) -> list[str | None]:
    """``0,3,"+420...",145`` → ['0', '3', '+420...', '145']; empty fields are None."""
    out: list[str | None] = []
    for m in re.finditer(r'\s*("([^"]*)"|[^,]*)\s*(,|$)', text):
        if m.group(0) == "" and m.start() == len(text) and out:
            break
        value = m.group(2) if m.group(2) is not None else (m.group(1).strip() or None)
        out.append(value)
        if m.group(3) == "":
            break
    return out


def _int(value: str | None, default: int | None = None) -> int:
    if value is None:
        if default is None:
            raise CmeError(3)
        return default
    if not value.isdigit():
        raise CmeError(3)
    return int(value)


class Interpreter:
    """Per-connection settings (echo, CMEE, character set, SMS mode) and the command handlers."""

    def __init__(self, emulator: ModemEmulator) -> None:
        self.emu = emulator
        self.reset()

    def reset(self) -> None:
        self.echo, self.err_mode, self.charset, self.sms_mode = True, 0, "IRA", 0
        self.clip, self.creg_n, self.cereg_n = False, 0, 0

    @property
    def net(self) -> NetworkState:
        return self.emu.network

    def need_sim(self, sms: bool = False) -> None:
        state = self.net.sim_state
        if state != "READY":
            code = 11 if state == "SIM PIN" else 12
            raise (CmsError(300 + code) if sms else CmeError(code))

    def need_network(self, sms: bool = False) -> None:
        self.need_sim(sms)
        if self.emu.faults.no_network or self.net.registration not in (1, 5):
            raise CmsError(331) if sms else CmeError(30)

    # --- identification, SIM, registration -------------------------------------------------
    def cgmi(self, op: str, args: list[str | None]) -> list[str]:
        return ["EMU Networks"]

    def cgmm(self, op: str, args: list[str | None]) -> list[str]:
        return ["HotlineSim 1"]

    def cgmr(self, op: str, args: list[str | None]) -> list[str]:
        return ["1.0.0"]

    def cgsn(self, op: str, args: list[str | None]) -> list[str]:
        return [IMEI]

    def cmee(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CMEE: {self.err_mode}"]
        self.err_mode = _int(args[0] if args else None, 0)
        return []

    def cpin(self, op: str, args: list[str | None]) -> list[str]:
        net = self.net
        if op == "?":
            return [f"+CPIN: {net.sim_state}"]
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

    def _reg(self, name: str, op: str, args: list[str | None]) -> list[str]:
        attr = "creg_n" if name == "CREG" else "cereg_n"
        if op == "?":
            stat = 0 if self.emu.faults.no_network else self.net.registration
            if self.net.sim_state != "READY":
                stat = 0
            return [f"+{name}: {getattr(self, attr)},{stat}"]
        setattr(self, attr, _int(args[0] if args else None, 0))
        return []

    def creg(self, op: str, args: list[str | None]) -> list[str]:
        return self._reg("CREG", op, args)

    def cereg(self, op: str, args: list[str | None]) -> list[str]:
        return self._reg("CEREG", op, args)

    def csq(self, op: str, args: list[str | None]) -> list[str]:
        if self.emu.faults.no_network or self.net.sim_state != "READY":
            return ["+CSQ: 99,99"]
        return [f"+CSQ: {self.net.rssi},99"]

    async def cops(self, op: str, args: list[str | None]) -> list[str]:
        if op != "?":
            return []
        if self.emu.faults.no_network or self.net.registration not in (1, 5):
            return ["+COPS: 0"]
        return [f'+COPS: 0,0,"{self.net.operator}",7']

    def cfun(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return ["+CFUN: 1"]
        if len(args) > 1 and args[1] == "1":
            self.emu.schedule_reboot()
        return []

    # --- settings --------------------------------------------------------------------------
    def cscs(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f'+CSCS: "{self.charset}"']
        if op == "=?":
            return ['+CSCS: ("GSM","IRA","UCS2")']
        if not args or args[0] not in ("GSM", "IRA", "UCS2"):
            raise CmeError(4)
        self.charset = args[0]
        return []

    def cmgf(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CMGF: {self.sms_mode}"]
        mode = _int(args[0] if args else None, 0)
        if mode not in (0, 1) or (mode == 0 and self.emu.faults.pdu_unsupported):
            raise CmsError(303)
        self.sms_mode = mode
        return []

    def clip_(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CLIP: {int(self.clip)},1"]
        self.clip = _int(args[0] if args else None, 0) == 1
        return []

    def cnmi(self, op: str, args: list[str | None]) -> list[str]:
        return ["+CNMI: 2,1,0,0,0"] if op == "?" else []

    # --- call forwarding -------------------------------------------------------------------
    def _number(self, raw: str | None) -> str | None:
        if raw is None or raw == "":
            return None
        if self.charset == "UCS2":
            try:
                raw = bytes.fromhex(raw).decode("utf-16-be")
            except ValueError as exc:
                raise CmeError(27) from exc
        if not _DIGITS.fullmatch(raw):
            raise CmeError(27)
        return raw

    async def ccfc(self, op: str, args: list[str | None]) -> list[str]:
        faults = self.emu.faults
        if faults.ccfc_unsupported:
            raise CmeError(4)
        if op == "=?":
            return ["+CCFC: (0-5)"]
        args = args + [None] * (8 - len(args))
        reason, mode = _int(args[0]), _int(args[1])
        number = self._number(args[2])
        ntype = _int(args[3], 145 if number and number.startswith("+") else 129)
        cls, time = _int(args[4], 7), (_int(args[7]) if args[7] is not None else None)
        self.need_network()
        await self.emu.network_delay("+CCFC")
        try:
            if mode == 2:
                return self.net.query_ccfc(reason, cls)
            if faults.refuse_data_classes and cls & 6:
                raise CmeError(257)
            if not faults.ccfc_ignored:
                self.net.apply_ccfc(reason, mode, number, ntype, cls, time)
        except NetworkRefusal as exc:
            raise CmeError(exc.code) from exc
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
            return self.net.query_ccfc(reason, 7)
        mode = {"**": 3, "*": 1, "#": 0, "##": 4}[action]
        if number and not _DIGITS.fullmatch(number):
            raise CmeError(27)
        try:
            self.net.apply_ccfc(
                reason, mode, number, 145 if (number or "")[:1] == "+" else 129, 7, None
            )
        except NetworkRefusal as exc:
            raise CmeError(exc.code) from exc
        self.emu.state_changed()
        return []

    async def dial(self, dial: str) -> list[str]:
        """``ATD<string>;``: supplementary-service codes answer like +CCFC (TS 27.007 §6.?)."""
        self.need_network()
        await self.emu.network_delay("D")
        result = self._mmi(dial.rstrip(";"))
        if result is None:
            raise CmeError(3)  # no voice calls from the emulator
        return result

    async def cusd(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?" or not args or len(args) < 2 or args[1] is None:
            return ["+CUSD: 1"] if op == "?" else []
        self.need_network()
        await self.emu.network_delay("+CUSD")
        result = self._mmi(args[1])
        if result is None:
            text = "Unknown service code"
        elif result and result[0].startswith("+CCFC: 1"):
            text = "Call forwarding active: " + result[0].split('"')[1]
        elif result:
            text = "Call forwarding not active"
        else:
            text = "Service request accepted"
        self.emu.later(f'+CUSD: 0,"{text}",15', self)
        return []

    # --- SMS -------------------------------------------------------------------------------
    def cmgs(self, op: str, args: list[str | None]) -> PromptFor:
        self.need_network(sms=True)
        if self.sms_mode == 0:
            length = _int(args[0] if args else None)

            async def finish_pdu(body: str) -> list[str]:
                await self.emu.network_delay("+CMGS")
                try:
                    return [f"+CMGS: {self.emu.submit_pdu(body, length)}"]
                except PduError as exc:
                    raise CmsError(304) from exc

            return PromptFor(finish_pdu)
        to = self._number(args[0] if args else None)
        if to is None:
            raise CmsError(305)

        async def finish_text(body: str) -> list[str]:
            await self.emu.network_delay("+CMGS")
            return [f"+CMGS: {self.emu.submit_text(to, body)}"]

        return PromptFor(finish_text)

    def cmgr(self, op: str, args: list[str | None]) -> list[str]:
        self.need_sim(sms=True)
        msg = self.net.inbox.get(_int(args[0] if args else None))
        if msg is None:
            raise CmsError(321)
        stat = 1 if msg.read else 0
        msg.read = True
        when = datetime.fromisoformat(msg.received_at)
        if self.sms_mode == 0:
            hex_pdu, length = encode_deliver(msg.sender, msg.text, when)
            return [f"+CMGR: {stat},,{length}", hex_pdu]
        label = "REC READ" if stat else "REC UNREAD"
        stamp = when.astimezone(UTC).strftime("%y/%m/%d,%H:%M:%S+00")
        return [f'+CMGR: "{label}","{msg.sender}",,"{stamp}"', msg.text.replace("\n", " ")]

    def cmgd(self, op: str, args: list[str | None]) -> list[str]:
        self.need_sim(sms=True)
        self.net.inbox.pop(_int(args[0] if args else None), None)
        self.emu.state_changed()
        return []


HANDLERS = {
    "+CGMI": "cgmi", "+CGMM": "cgmm", "+CGMR": "cgmr", "+CGSN": "cgsn", "+CMEE": "cmee",
    "+CPIN": "cpin", "+CREG": "creg", "+CEREG": "cereg", "+CSQ": "csq", "+COPS": "cops",
    "+CFUN": "cfun", "+CSCS": "cscs", "+CMGF": "cmgf", "+CLIP": "clip_", "+CNMI": "cnmi",
    "+CCFC": "ccfc", "+CUSD": "cusd", "+CMGS": "cmgs", "+CMGR": "cmgr", "+CMGD": "cmgd",
}  # fmt: skip
assert set(REASON_GROUPS) == set(range(6))
