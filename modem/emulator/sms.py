"""The emulated modem's SMS commands (TS 27.005): sending, the SIM store, indications, the SMSC.

One message store ("SM", the SIM) holds received messages; ``+CPMS`` reports it for all three
memories. Received messages are listed and read as SMS-DELIVER PDUs in PDU mode and as text lines
in text mode; reading or listing marks an unread message read, as §3.4.2 / §3.4.3 say.
"""

from __future__ import annotations

from datetime import UTC, datetime

from modem.emulator.base import CmeError, CmsError, InterpreterBase, PromptFor, arg, to_int
from modem.emulator.network import StoredSms
from modem.pdu import PduError

STORE_SIZE = 30
_TEXT_STAT = {"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3, "ALL": 4}
_STAT_TEXT = {v: k for k, v in _TEXT_STAT.items()}


class SmsCommands(InterpreterBase):
    def cmgf(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return [f"+CMGF: {self.sms_mode}"]
        if op == "=?":
            return ["+CMGF: (0,1)"]
        mode = to_int(arg(args, 0), 0)
        if mode not in (0, 1) or (mode == 0 and self.emu.faults.pdu_unsupported):
            raise CmsError(303)
        self.sms_mode = mode
        return []

    def csms(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return ["+CSMS: 0,1,1,1"]
        if op == "=?":
            return ["+CSMS: (0,1)"]
        if to_int(arg(args, 0), 0) not in (0, 1):
            raise CmsError(303)
        return ["+CSMS: 1,1,1"]

    def csca(self, op: str, args: list[str | None]) -> list[str]:
        """The SMS service centre (§3.3.1): ``+CSCA: "<sca>",<tosca>`` in the TE character set."""
        if op == "?":
            sca = self.net.smsc
            return [f'+CSCA: "{self.te_encode(sca)}",{145 if sca.startswith("+") else 129}']
        if op == "=?":
            return []
        raw = arg(args, 0)
        if not raw:
            raise CmsError(304 if self.sms_mode == 0 else 305)
        number = self.te_decode(raw)
        if not number.lstrip("+").isdigit() or len(number) > 21:
            raise CmsError(304 if self.sms_mode == 0 else 305)
        self.net.smsc = number
        return []

    def csmp(self, op: str, args: list[str | None]) -> list[str]:
        return ["+CSMP: 17,167,0,0"] if op == "?" else []

    def cpms(self, op: str, args: list[str | None]) -> list[str]:
        used = len(self.net.inbox)
        if op == "=?":
            return ['+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")']
        if op == "?":
            return [
                f'+CPMS: "SM",{used},{STORE_SIZE},"SM",{used},{STORE_SIZE},"SM",{used},{STORE_SIZE}'
            ]
        if any(a not in (None, "SM", "ME", "MT") for a in args):
            raise CmsError(302)
        return [f"+CPMS: {used},{STORE_SIZE},{used},{STORE_SIZE},{used},{STORE_SIZE}"]

    def cnmi(self, op: str, args: list[str | None]) -> list[str]:
        if op == "?":
            return ["+CNMI: " + ",".join(str(v) for v in self.cnmi_values)]
        if op == "=?":
            return ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"]
        values = [to_int(a, d) for a, d in zip(args + [None] * 5, self.cnmi_values, strict=False)][
            :5
        ]
        if values[0] > 3 or values[1] > 3:
            raise CmsError(303)
        self.cnmi_values = values
        return []

    def cnma(self, op: str, args: list[str | None]) -> list[str]:
        return []

    # --- sending -----------------------------------------------------------------------------
    def cmgs(self, op: str, args: list[str | None]) -> PromptFor:
        self.need_network(sms=True)
        if self.sms_mode == 0:
            length = to_int(arg(args, 0))

            async def finish_pdu(body: str) -> list[str]:
                await self.emu.network_delay("+CMGS")
                try:
                    return [f"+CMGS: {self.emu.submit_pdu(body, length)}"]
                except PduError as exc:
                    raise CmsError(304) from exc

            return PromptFor(finish_pdu)
        raw = arg(args, 0)
        to = self.te_decode(raw) if raw else None
        if not to or not to.lstrip("+").isdigit():
            raise CmsError(305)

        async def finish_text(body: str) -> list[str]:
            await self.emu.network_delay("+CMGS")
            return [f"+CMGS: {self.emu.submit_text(to, body)}"]

        return PromptFor(finish_text)

    # --- the store ---------------------------------------------------------------------------
    def message_lines(self, index: int, msg: StoredSms, header: str) -> list[str]:
        """The header line and the PDU / text line of one stored message."""
        stat = 1 if msg.read else 0
        when = datetime.fromisoformat(msg.received_at)
        if self.sms_mode == 0:
            hex_pdu, length = self.emu.deliver_pdu(msg)
            lead = f"{index}," if header == "+CMGL" else ""
            return [f"{header}: {lead}{stat},,{length}", hex_pdu]
        stamp = when.astimezone(UTC).strftime("%y/%m/%d,%H:%M:%S+00")
        lead = f"{index}," if header == "+CMGL" else ""
        sender = self.te_encode(msg.sender)
        text = self.te_encode(msg.text.replace("\n", " "))
        return [f'{header}: {lead}"{_STAT_TEXT[stat]}","{sender}",,"{stamp}"', text]

    def cmgr(self, op: str, args: list[str | None]) -> list[str]:
        self.need_sim(sms=True)
        index = to_int(arg(args, 0))
        msg = self.net.inbox.get(index)
        if msg is None:
            raise CmsError(321)
        lines = self.message_lines(index, msg, "+CMGR")
        msg.read = True
        return lines

    def cmgl(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return ["+CMGL: (0-4)" if self.sms_mode == 0 else '+CMGL: ("REC UNREAD","REC READ",'
                    '"STO UNSENT","STO SENT","ALL")']  # fmt: skip
        self.need_sim(sms=True)
        raw = arg(args, 0)
        pdu = self.sms_mode == 0
        want = to_int(raw, 4) if pdu else _TEXT_STAT.get(raw or "REC UNREAD", -1)
        if not 0 <= want <= 4:
            raise CmsError(302 if self.sms_mode == 0 else 305)
        out: list[str] = []
        for index, msg in sorted(self.net.inbox.items()):
            stat = 1 if msg.read else 0
            if want == 4 or want == stat:
                out += self.message_lines(index, msg, "+CMGL")
                msg.read = True
        return out

    def cmgd(self, op: str, args: list[str | None]) -> list[str]:
        if op == "=?":
            return [f"+CMGD: (1-{STORE_SIZE}),(0-4)"]
        self.need_sim(sms=True)
        index, flag = to_int(arg(args, 0), 0), to_int(arg(args, 1), 0)
        if flag == 0:
            if not 0 <= index <= STORE_SIZE:
                raise CmsError(321)
            self.net.inbox.pop(index, None)
        elif flag in (1, 2, 3):
            for i in [i for i, m in self.net.inbox.items() if m.read]:
                del self.net.inbox[i]
        elif flag == 4:
            self.net.inbox.clear()
        else:
            raise CmeError(3)
        self.emu.state_changed()
        return []
