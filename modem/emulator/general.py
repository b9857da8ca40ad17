"""The emulated modem's general commands: identity, SIM identity, operators, calls, USSD.

These are the commands other clients send at start-up (python-gsmmodem, gammu, smstools) even
though our driver does not: each is answered as TS 27.007 says, in the ``AT+CSCS`` character set.
"""

from __future__ import annotations

from gsmmodem import pdu as gsmpdu

from modem.emulator.base import CmeError, InterpreterBase, arg, to_int

IMEI = "356938035643809"
IMSI = "230019876543210"
ICCID = "8942001234567890123"


class GeneralCommands(InterpreterBase):
    # --- identification (TS 27.007 §5) --------------------------------------------------------
    def cgmi(self, op: str, args: list[str | None]) -> list[str]:
        return [] if op == "=?" else [self.profile.manufacturer]

    def cgmm(self, op: str, args: list[str | None]) -> list[str]:
        return [] if op == "=?" else [self.profile.model]

    def cgmr(self, op: str, args: list[str | None]) -> list[str]:
        return [] if op == "=?" else [self.profile.revision]

    def cgsn(self, op: str, args: list[str | None]) -> list[str]:
        return [] if op == "=?" else [IMEI]

    def gcap(self, op: str, args: list[str | None]) -> list[str]:
        return ["+GCAP: +CGSM"]

    def ati(self) -> list[str]:
        return list(self.profile.ati)

    def cimi(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return []
        self.need_sim()
        return [IMSI]

    def ccid(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return []
        if self.net.sim_state == "SIM PUK":
            raise CmeError(12)
        return [f"+CCID: {ICCID}"]

    def cnum(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return []
        self.need_sim()
        own = self.net.own_number
        return [f'+CNUM: "","{self.te_encode(own)}",145'] if own else []

    def clac(self, op: str, args: list[str | None]) -> list[str]:
        """Every command this modem answers (TS 27.007 §8.37), one per line."""
        from modem.emulator.commands import HANDLERS

        names = sorted(n for n in HANDLERS if n[0] == "+" or n in self.profile.extra_commands)
        if not self.profile.ccfc:
            names.remove("+CCFC")
        return ["AT" + n for n in names]

    def vendor(self, op: str, args: list[str | None]) -> list[str]:
        """A vendor command the profile lists: accepted, nothing to report."""
        return []

    def ussdmode(self, op: str, args: list[str | None]) -> list[str]:
        """Huawei ``^USSDMODE``: 0 text USSD strings, 1 packed 7-bit hex (the default)."""
        if op == "?":
            return [f"^USSDMODE: {0 if self.ussd_text else 1}"]
        if op == "=?":
            return ["^USSDMODE: (0,1)"]
        self.ussd_text = to_int(arg(args, 0), 1) == 0
        return []

    # --- network -------------------------------------------------------------------------------
    def csq(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return ["+CSQ: (0-31,99),(0-7,99)"]
        if self.emu.faults.no_network or self.net.sim_state != "READY":
            return ["+CSQ: 99,99"]
        return [f"+CSQ: {self.net.rssi},99"]

    async def cops(self, op: str, args: list[str | None]) -> list[str]:
        registered = not self.emu.faults.no_network and self.net.registration in (1, 5)
        if op == "=?":
            self.need_sim()
            await self.emu.network_delay("+COPS")
            name = self.net.operator
            return [f'+COPS: (2,"{name}","{name[:8]}","23001",7),,(0-4),(0-2)']
        if op == "?":
            return [f'+COPS: 0,0,"{self.net.operator}",7'] if registered else ["+COPS: 0"]
        return []

    def cfun(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return ["+CFUN: 1"]
        if op == "=?":
            return ["+CFUN: (0,1,4),(0,1)"]
        if arg(args, 1) == "1":
            self.emu.schedule_reboot()
        return []

    # --- calls ---------------------------------------------------------------------------------
    def clcc(self, op: str, args: list[str | None]) -> list[str]:
        return []  # no call in progress: just OK (§7.18)

    def chup(self, op: str, args: list[str | None]) -> list[str]:
        return []

    def crc_(self, op: str, args: list[str | None]) -> list[str]:
        """``AT+CRC=1``: incoming calls as ``+CRING: VOICE`` instead of ``RING`` (§6.11)."""
        if op == "?":
            return [f"+CRC: {int(self.crc)}"]
        if op == "=?":
            return ["+CRC: (0,1)"]
        self.crc = to_int(arg(args, 0), 0) == 1
        return []

    def cvhu(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return ["+CVHU: (0,1)"]
        return ["+CVHU: 0"] if op == "?" else []

    # --- USSD (§7.15) --------------------------------------------------------------------------
    def ussd_in(self, raw: str, dcs: int) -> str:
        """The USSD string as the TE sent it: packed hex (Huawei), UCS-2 hex or plain text."""
        if not self.ussd_text:
            try:
                septets = gsmpdu.unpackSeptets(bytearray(bytes.fromhex(raw)))
                return gsmpdu.decodeGsm7(septets).rstrip("\r@")
            except (ValueError, KeyError, IndexError) as exc:
                raise CmeError(25) from exc
        if self.charset == "UCS2" and not _is_hex(raw):
            return raw  # sent as plain text though the TE set is UCS2: modems accept it so
        return self.te_decode(raw)

    def ussd_out(self, text: str) -> tuple[str, int]:
        if not self.ussd_text:
            return bytes(gsmpdu.packSeptets(gsmpdu.encodeGsm7(text))).hex().upper(), 15
        if self.charset == "UCS2":
            return self.te_encode(text), 72
        return text, 15


def _is_hex(text: str) -> bool:
    return len(text) % 4 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)
