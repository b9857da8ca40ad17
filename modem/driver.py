"""The GSM modem as the rest of the project sees it: :class:`Modem`.

Operations are built from the command table (:mod:`modem.commands`) and run over an
:class:`~modem.link.AtLink` (one command in flight, retries, reconnect, reset). Every forwarding
change is followed by a query, and the change only counts when the network shows exactly what was
asked (:class:`~modem.errors.ForwardingNotVerified` otherwise): the hotline must never be left in an
unknown state. Modems that refuse ``+CCFC`` get the TS 22.030 codes (``**21*<number>#``) instead.
The values it returns are in :mod:`modem.model` (re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from logsafe import esc
from modem import commands as cmd
from modem.at import Urc
from modem.e164 import same_number, validate_e164
from modem.errors import ForwardingNotVerified, ModemError, ModemUnavailable, PinRejected
from modem.incoming import Reassembly
from modem.link import AtLink
from modem.model import (
    RECONNECT_DELAYS,
    RETRY_DELAYS,
    ForwardingState,
    ForwardReason,
    IncomingCall,
    IncomingSms,
    ModemEvent,
    ModemInfo,
    ModemStatus,
)
from modem.parse import (
    REGISTRATION,
    fields,
    parse_clip,
    parse_cmti,
    parse_cops,
    parse_cpin,
    parse_csq,
    parse_identity,
    parse_mr,
    parse_registration,
    voice_forwarding,
)
from modem.pdu import PduError, concat_info, decode, encode_submit, to_text_mode

__all__ = [
    "ForwardReason",
    "ForwardingState",
    "IncomingCall",
    "IncomingSms",
    "Modem",
    "ModemEvent",
    "ModemInfo",
    "ModemStatus",
]

log = logging.getLogger("modem")


def _unsupported(exc: ModemError) -> bool:
    """The modem (not the network) refuses +CCFC: plain ERROR, CME 4 "operation not supported",
    or Huawei's ``COMMAND NOT SUPPORT``."""
    return type(exc) is ModemError and (
        exc.final in ("ERROR", "COMMAND NOT SUPPORT") or (exc.kind == "cme" and exc.code == 4)
    )


class Modem:
    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        pin: str | None = None,
        command_timeout: float = 10.0,
        network_timeout: float = 60.0,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
    ) -> None:
        self._pin = pin
        self._pin_rejected = False
        self._text_mode = False
        self._clip = True
        self._ccfc_unsupported = False
        self._subscribers: list[asyncio.Queue[ModemEvent]] = []
        self._reassembly = Reassembly(self._give_up_sms)
        self.registration_listeners: list[Callable[[int], None]] = []
        """Called with <stat> whenever a +CREG / +CEREG URC reports a registration change."""
        self.link = AtLink(
            url,
            baudrate=baudrate,
            command_timeout=command_timeout,
            network_timeout=network_timeout,
            retry_delays=retry_delays,
            reconnect_delays=reconnect_delays,
            on_urc=self._on_urc,
            initialize=self._initialize,
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        baudrate: int = 115200,
        pin: str | None = None,
        command_timeout: float = 10.0,
        network_timeout: float = 60.0,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
    ) -> Modem:
        modem = cls(
            url,
            baudrate=baudrate,
            pin=pin,
            command_timeout=command_timeout,
            network_timeout=network_timeout,
            retry_delays=retry_delays,
            reconnect_delays=reconnect_delays,
        )
        async with modem.link.lock:
            await modem.link.connect()
        return modem

    async def close(self) -> None:
        await self.link.close()

    async def __aenter__(self) -> Modem:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- init (runs after every (re)connect, lock held) ---------------------------------------
    async def _initialize(self) -> None:
        ex = self.link.execute
        for attempt in range(3):  # the first bytes after opening may meet a modem still booting
            try:
                await ex("AT", timeout=min(2.0, self.link.command_timeout), resync=False)
                break
            except ModemError:
                if attempt == 2:
                    raise
        await ex("ATE0")
        await ex("AT+CMEE=1")
        await self._unlock_sim()
        await ex('AT+CSCS="GSM"')
        try:
            await ex("AT+CMGF=0")
            self._text_mode = False
        except ModemError:
            await ex("AT+CMGF=1")
            self._text_mode = True
            log.warning("event=modem_text_mode reason=pdu_mode_refused")
        try:
            await ex("AT+CLIP=1")
        except ModemError:
            self._clip = False
        try:
            await ex("AT+CNMI=2,1,0,0,0")
        except ModemError as exc:
            log.warning("event=modem_cnmi_refused error=%s", esc(exc))
        for urcs in ("AT+CREG=1", "AT+CEREG=1"):  # registration changes as URCs (§7.2, §10.1.22)
            try:
                await ex(urcs)
            except ModemError:
                log.info("event=modem_urc_refused command=%s", urcs)

    async def _sim_state(self) -> str:
        resp = await self.link.execute("AT+CPIN?")
        return parse_cpin(resp.lines[0]) if resp.lines else "UNKNOWN"

    async def _unlock_sim(self) -> None:
        state = await self._sim_state()
        if state == "READY":
            return
        if state != "SIM PIN":
            raise ModemError(f"SIM needs {state}; unlock it by hand", command="+CPIN")
        if self._pin is None:
            raise ModemError("SIM PIN required but none configured", code=11, command="+CPIN")
        if self._pin_rejected:
            raise PinRejected("SIM PIN was rejected before; not retrying", command="+CPIN")
        try:
            await self.link.execute(cmd.cpin(self._pin))
        except ModemError as exc:
            self._pin_rejected = True
            raise PinRejected(
                f"SIM rejected the configured PIN ({exc.meaning}); not retrying",
                code=exc.code,
                command="+CPIN",
                transient=False,
            ) from exc
        for _ in range(20):  # the SIM takes a moment to become READY after the PIN
            if await self._sim_state() == "READY":
                return
            await asyncio.sleep(0.25)
        raise ModemError("SIM not ready after PIN", command="+CPIN")

    # --- queries -----------------------------------------------------------------------------
    async def info(self) -> ModemInfo:
        run = self.link.run
        manufacturer = parse_identity((await run("AT+CGMI")).lines, "+CGMI:")
        model = parse_identity((await run("AT+CGMM")).lines, "+CGMM:")
        imei = parse_identity((await run("AT+CGSN")).lines, "+CGSN:")
        try:
            revision: str | None = parse_identity((await run("AT+CGMR")).lines, "+CGMR:")
        except ModemError:
            revision = None
        return ModemInfo(manufacturer, model, imei, revision or None)

    async def status(self) -> ModemStatus:
        run = self.link.run
        resp = await run("AT+CPIN?")
        sim_state = parse_cpin(resp.lines[0]) if resp.lines else "UNKNOWN"
        stat = 0
        for query, prefix in (("AT+CREG?", "+CREG:"), ("AT+CEREG?", "+CEREG:")):
            try:
                lines = (await run(query, retry=False)).lines
            except ModemError:
                continue
            if lines:
                stat = parse_registration(lines[0], prefix)
            if stat in (1, 5):
                break
        csq = (await run("AT+CSQ")).lines
        signal = parse_csq(csq[0]) if csq else None
        operator = None
        if stat in (1, 5):
            try:
                cops = (await run("AT+COPS?", retry=False)).lines
                operator = parse_cops(cops[0]) if cops else None
            except ModemError:
                operator = None
        return ModemStatus(
            sim_ready=sim_state == "READY",
            sim_state=sim_state,
            registered=stat in (1, 5),
            roaming=stat == 5,
            registration=REGISTRATION.get(stat, "unknown"),
            signal_dbm=signal,
            operator=operator,
            can_change_forwarding=sim_state == "READY" and stat in (1, 5),
            forwarding_via="MMI codes" if self._ccfc_unsupported else "+CCFC",
        )

    # --- call forwarding -----------------------------------------------------------------------
    async def get_forwarding(
        self, reason: ForwardReason = ForwardReason.UNCONDITIONAL
    ) -> ForwardingState:
        reason = ForwardReason(reason)
        code = cmd.REASON_CODES[reason.value]
        lines: list[str] | None = None
        if not self._ccfc_unsupported:
            try:
                lines = list((await self.link.run(cmd.ccfc_query(code))).lines)
            except ModemError as exc:
                if not _unsupported(exc):
                    raise
                self._fall_back_to_mmi(exc)
        if lines is None:
            resp = await self.link.run(cmd.mmi_interrogate(code))
            lines = [line for line in resp.lines if line.startswith("+CCFC:")]
            if not lines:
                raise ModemError("interrogation gave no forwarding status", command="D")
        try:
            active, number = voice_forwarding(lines)
        except ValueError as exc:
            raise ModemError(f"unreadable forwarding status: {exc}", command="+CCFC") from exc
        return ForwardingState(reason, active, number if active else None)

    def _fall_back_to_mmi(self, exc: ModemError) -> None:
        self._ccfc_unsupported = True
        log.warning("event=modem_ccfc_refused fallback=mmi error=%s", esc(exc))

    async def _change(self, reason: ForwardReason, number: str | None) -> None:
        code = cmd.REASON_CODES[reason.value]
        await self.link.run('AT+CSCS="GSM"')  # numbers are read in the TE character set
        if not self._ccfc_unsupported:
            line = cmd.ccfc(code, 3, number) if number else cmd.ccfc(code, 4)
            try:
                await self.link.run(line)
                return
            except ModemError as exc:
                if not _unsupported(exc):
                    raise
                self._fall_back_to_mmi(exc)
        await self.link.run(cmd.mmi_register(code, number) if number else cmd.mmi_erase(code))

    async def set_forwarding(
        self, number: str, reason: ForwardReason = ForwardReason.UNCONDITIONAL
    ) -> ForwardingState:
        number = validate_e164(number)
        reason = ForwardReason(reason)
        await self._change(reason, number)
        state = await self.get_forwarding(reason)
        if not (state.active and same_number(state.number, number)):
            log.error(
                "event=forwarding_not_verified reason=%s want=%s got=%s", reason, number, esc(state)
            )
            raise ForwardingNotVerified(
                f"asked to forward {reason} to {number}, network shows "
                f"{'active to ' + str(state.number) if state.active else 'not active'}",
                command="+CCFC",
            )
        log.info("event=forwarding_set reason=%s number=%s verified=true", reason, number)
        return state

    async def clear_forwarding(
        self, reason: ForwardReason = ForwardReason.UNCONDITIONAL
    ) -> ForwardingState:
        reason = ForwardReason(reason)
        await self._change(reason, None)
        state = await self.get_forwarding(reason)
        if state.active:
            log.error(
                "event=forwarding_not_verified reason=%s want=cleared got=%s", reason, esc(state)
            )
            raise ForwardingNotVerified(
                f"asked to clear {reason} forwarding, network still forwards to {state.number}",
                command="+CCFC",
            )
        log.info("event=forwarding_cleared reason=%s verified=true", reason)
        return state

    # --- SMS ---------------------------------------------------------------------------------
    async def send_sms(self, number: str, text: str, *, retry: bool = True) -> list[int]:
        """``retry=False``: a transient +CMS error is raised at once (the notifier falls through
        to its next channel instead of waiting out the link's retry delays)."""
        number = validate_e164(number)
        refs: list[int] = []
        if self._text_mode:
            plain = to_text_mode(text)
            for start in range(0, max(len(plain), 1), 160):
                body = plain[start : start + 160]
                resp = await self.link.run(cmd.cmgs_text(number), body=body, retry=retry)
                refs.append(parse_mr(resp.lines))
        else:
            for part in encode_submit(number, text, reference=random.randrange(256)):
                line = cmd.cmgs_pdu(part.tpdu_length)
                resp = await self.link.run(line, body=part.hex, retry=retry)
                refs.append(parse_mr(resp.lines))
        log.info("event=sms_sent to=%s parts=%d refs=%s", number, len(refs), refs)
        return refs

    # --- events ------------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[ModemEvent]:
        queue: asyncio.Queue[ModemEvent] = asyncio.Queue(maxsize=256)
        self._subscribers.append(queue)
        return queue

    def _publish(self, event: ModemEvent) -> None:
        for queue in self._subscribers:
            if queue.full():
                log.warning("event=modem_event_dropped kind=%s", type(event).__name__)
            else:
                queue.put_nowait(event)

    def _on_urc(self, urc: Urc) -> None:
        line, now = urc.line, datetime.now(UTC)
        if line == "RING" and not self._clip:
            self._publish(IncomingCall(None, now))
        elif line.startswith("+CLIP:"):
            self._publish(IncomingCall(parse_clip(line), now))
        elif line.startswith("+CMTI:"):
            self.link.spawn(self._fetch_sms(parse_cmti(line)))
        elif line.startswith("+CMT:") and urc.data:
            self._publish_pdu(urc.data)
        elif line.startswith(("+CREG:", "+CEREG:")):
            self._on_registration(line)
        elif line not in ("RING",):
            log.info("event=modem_urc line=%r", line[:80])

    def _on_registration(self, line: str) -> None:
        try:
            stat = parse_registration(line, line.split(":", 1)[0] + ":")
        except ValueError:
            log.warning("event=modem_urc_unreadable line=%r", line[:80])
            return
        log.info("event=modem_registration stat=%d (%s)", stat, REGISTRATION.get(stat, "?"))
        for listener in list(self.registration_listeners):
            listener(stat)

    def _publish_pdu(self, hex_pdu: str) -> None:
        try:
            d = decode(hex_pdu)
        except PduError as exc:
            log.warning("event=sms_undecodable error=%s", esc(exc))
            return
        when = d.get("time")
        received = when.astimezone(UTC) if isinstance(when, datetime) else datetime.now(UTC)
        sender, text = str(d.get("number", "")), str(d.get("text", ""))
        info = concat_info(d)
        if info is not None:
            joined = self._reassembly.add(sender, info, text)
            if joined is None:
                return
            text = joined
        self._publish(IncomingSms(sender, text, received))

    def _give_up_sms(self, sender: str, partial: str, seen: int, total: int) -> None:
        log.warning("event=sms_parts_missing sender=%r got=%d of=%d", sender, seen, total)
        self._publish(IncomingSms(sender, partial, datetime.now(UTC)))

    async def _fetch_sms(self, index: int) -> None:
        try:
            resp = await self.link.run(cmd.index_command("+CMGR", index), retry=False)
            if len(resp.lines) < 2:
                return
            if self._text_mode:
                header = fields(resp.lines[0], "+CMGR:")
                sender = header[1] if len(header) > 1 else ""
                self._publish(IncomingSms(sender, resp.lines[1], datetime.now(UTC)))
            else:
                self._publish_pdu(resp.lines[1])
            await self.link.run(cmd.index_command("+CMGD", index), retry=False)
        except (ModemError, ValueError) as exc:
            if not isinstance(exc, ModemUnavailable):
                log.warning("event=sms_fetch_failed index=%d error=%s", index, esc(exc))
