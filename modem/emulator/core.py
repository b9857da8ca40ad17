"""The emulated GSM modem: network state, connections (TCP or pty), transcript, state file.

In-process use (tests, the demo)::

    emu = ModemEmulator(pin="1234")
    port = await emu.start_tcp()            # socket://127.0.0.1:<port>
    link = await emu.start_pty("/tmp/m0")   # or a pty, e.g. for ser2net
    emu.deliver_sms("+420601000999", "Ahoj"); emu.ring("+420601000999")
    emu.forwarding[(0, 1)]                  # reason 0 (unconditional), class 1 (voice)
    emu.outbox[-1].to, emu.outbox[-1].text  # SMS as the SMSC got them, parts joined
    emu.faults.no_network = True            # see Faults for every knob
    await emu.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import tty
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path

from modem.e164 import is_e164
from modem.emulator.calls import CallDesk
from modem.emulator.faults import Faults
from modem.emulator.network import Forward, JsonDoc, NetworkState, SentSms, StoredSms
from modem.emulator.profiles import STANDARD, Profile
from modem.emulator.session import Session
from modem.pdu import PduError, concat_info, decode, deliver_chunks, encode_deliver

TRANSCRIPT_LIMIT = 20000


class ModemEmulator:
    def __init__(
        self,
        *,
        pin: str | None = None,
        faults: Faults | None = None,
        echo: bool = True,
        state_file: str | Path | None = None,
        transcript_file: str | Path | None = None,
        profile: Profile = STANDARD,
    ) -> None:
        self.profile = profile
        self.network = NetworkState(sim_pin=pin, sim_state="SIM PIN" if pin else "READY")
        self.desk = CallDesk(self.network)
        self.faults = faults or Faults()
        self.initial_echo = echo
        self.transcript: list[tuple[float, str, str, bytes]] = []
        self.attempts: Counter[str] = Counter()
        self._sessions: set[Session] = set()
        self._servers: list[asyncio.Server] = []
        self._ptys: dict[str, tuple[int, int]] = {}
        self._parts: dict[tuple[str, int, int], dict[int, tuple[str, int]]] = {}
        self._mr = 0
        self._concat_ref = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._state_file = Path(state_file) if state_file else None
        self._transcript_file = open(transcript_file, "ab") if transcript_file else None  # noqa: SIM115

    # --- views -----------------------------------------------------------------------------
    @property
    def forwarding(self) -> dict[tuple[int, int], Forward]:
        return self.network.forwarding

    @property
    def outbox(self) -> list[SentSms]:
        return self.network.outbox

    @property
    def registration(self) -> int:
        """``+CREG`` <stat>: 1 home, 5 roaming, 0/2/3/4 not registered."""
        return self.network.registration

    @registration.setter
    def registration(self, stat: int) -> None:
        self.set_registration(stat)

    def set_registration(self, stat: int) -> None:
        """The network registration changes: ``+CREG:`` / ``+CEREG:`` URCs where enabled."""
        changed = stat != self.network.registration
        self.network.registration = stat
        if changed:
            for s in list(self._sessions):
                for name in ("CREG", "CEREG"):
                    if (s.interp.creg_n if name == "CREG" else s.interp.cereg_n) > 0:
                        s.urc(s.interp.registration_line(name, urc=True))
        self.state_changed()

    @property
    def signal(self) -> int:
        """``+CSQ`` <rssi> 0..31 (−113 + 2·rssi dBm), 99 unknown."""
        return self.network.rssi

    @signal.setter
    def signal(self, rssi: int) -> None:
        changed = rssi != self.network.rssi
        self.network.rssi = rssi
        if changed and self.profile.signal_urc:
            for s in list(self._sessions):
                s.urc(self.profile.signal_urc.format(rssi=rssi))
        self.state_changed()

    @property
    def sim_state(self) -> str:
        return self.network.sim_state

    @property
    def connections(self) -> int:
        return len(self._sessions)

    def voice_forwarding(self, reason: int = 0) -> Forward:
        return self.network.forwarding.get((reason, 1), Forward())

    def state(self) -> JsonDoc:
        return self.network.to_json() | {"faults": self.faults.to_json()}

    # --- transports ------------------------------------------------------------------------
    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        server = await asyncio.start_server(self._on_tcp, host, port)
        self._servers.append(server)
        self.state_changed()
        return int(server.sockets[0].getsockname()[1])

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(self, writer.write, writer.close, f"tcp:{peer[1] if peer else '?'}")
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        try:
            for _ in range(10**9):  # bounded only by the connection's life
                data = await reader.read(4096)
                if not data or session.closed:
                    break
                session.feed(data)
        except (ConnectionError, OSError):
            pass
        finally:
            session.drop()
            if task is not None:
                self._conn_tasks.discard(task)

    async def start_pty(self, link: str | Path) -> str:
        """Offer the modem on a pseudo-terminal; ``link`` becomes a symlink to its slave side."""
        link = str(link)
        master, slave = os.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        tmp = f"{link}.tmp{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(path, tmp)
        os.replace(tmp, link)
        self._ptys[link] = (master, slave)

        def write(data: bytes) -> None:
            os.write(master, data)

        session = Session(self, write, lambda: self._close_pty(link, reopen=True), f"pty:{path}")
        self._sessions.add(session)
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if data:
                session.feed(data)

        loop.add_reader(master, readable)
        return path

    def _close_pty(self, link: str, *, reopen: bool) -> None:
        fds = self._ptys.pop(link, None)
        if fds is None:
            return
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(fds[0])
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if reopen:  # like a USB modem coming back under the same udev name
            self.spawn(self._reopen_pty(link))

    async def _reopen_pty(self, link: str) -> None:
        await asyncio.sleep(0.2)
        await self.start_pty(link)

    def drop_connections(self) -> None:
        for session in list(self._sessions):
            session.drop()

    async def stop(self) -> None:
        links = list(self._ptys)
        for server in self._servers:
            server.close()
        for link in list(self._ptys):
            self._close_pty(link, reopen=False)
        for session in list(self._sessions):
            session.drop()
        self._sessions.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._conn_tasks:
            await asyncio.wait(list(self._conn_tasks), timeout=2.0)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self._servers.clear()
        for link in links:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
        if self._transcript_file:
            self._transcript_file.close()
            self._transcript_file = None

    def forget(self, session: Session) -> None:
        self._sessions.discard(session)

    # --- called by sessions ----------------------------------------------------------------
    def record(self, who: str, direction: str, data: bytes) -> None:
        entry = (time.time(), who, direction, data)
        self.transcript.append(entry)
        del self.transcript[:-TRANSCRIPT_LIMIT]
        if self._transcript_file:
            self._transcript_file.write(f"{entry[0]:.3f} {who} {direction} {data!r}\n".encode())
            self._transcript_file.flush()

    def count_attempt(self, name: str) -> int:
        self.attempts[name] += 1
        return self.attempts[name]

    async def network_delay(self, command: str) -> None:
        await asyncio.sleep(self.faults.latency_for(command))

    def spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def later(self, urc: str, interp: object) -> None:
        """Send a URC to the session of ``interp`` shortly after its command's final result."""

        async def send() -> None:
            await asyncio.sleep(0.05)
            for s in list(self._sessions):
                if s.interp is interp:
                    s.urc(urc)

        self.spawn(send())

    def schedule_reboot(self) -> None:
        async def reboot() -> None:
            await asyncio.sleep(0.1)
            if self.network.sim_pin:
                self.network.sim_state = "SIM PIN"
            for s in list(self._sessions):
                s.interp.reset()
                s.interp.echo = self.initial_echo
                for line in self.profile.boot_urcs or ("RDY",):
                    s.urc(line)
            self.state_changed()

        self.spawn(reboot())

    def state_changed(self) -> None:
        if self._state_file is None:
            return
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=1, ensure_ascii=False))
        os.replace(tmp, self._state_file)

    # --- the network's SMS side ------------------------------------------------------------
    def _next_mr(self) -> int:
        self._mr = (self._mr + 1) % 256
        return self._mr

    def submit_pdu(self, hex_pdu: str, tpdu_length: int) -> int:
        """An SMS-SUBMIT reaching the SMSC; concatenated parts are joined when all arrived."""
        hex_pdu = hex_pdu.strip()
        if len(hex_pdu) % 2 or not all(c in "0123456789abcdefABCDEF" for c in hex_pdu):
            raise PduError("not hex")
        smsc_len = int(hex_pdu[:2], 16) if hex_pdu else 0
        if len(hex_pdu) // 2 - 1 - smsc_len != tpdu_length:
            raise PduError("TPDU length does not match +CMGS length")
        d = decode(hex_pdu)
        if d.get("type") != "SMS-SUBMIT":
            raise PduError("not an SMS-SUBMIT")
        to, text = str(d["number"]), str(d.get("text", ""))
        encoding = "GSM-7" if is_gsm7_dcs(hex_pdu) else "UCS-2"
        mr = self._next_mr()
        info = concat_info(d)
        if info is None:
            self.network.outbox.append(SentSms(to, text, 1, [mr], encoding, time.time()))
        else:
            ref, total, number = info
            parts = self._parts.setdefault((to, ref, total), {})
            parts[number] = (text, mr)
            if len(parts) == total and set(parts) == set(range(1, total + 1)):
                del self._parts[(to, ref, total)]
                joined = "".join(parts[i][0] for i in range(1, total + 1))
                refs = [parts[i][1] for i in range(1, total + 1)]
                self.network.outbox.append(SentSms(to, joined, total, refs, encoding, time.time()))
        self.state_changed()
        return mr

    def submit_text(self, to: str, text: str) -> int:
        mr = self._next_mr()
        self.network.outbox.append(SentSms(to, text, 1, [mr], "text", time.time()))
        self.state_changed()
        return mr

    def deliver_sms(self, sender: str, text: str) -> list[int]:
        """An SMS arrives: stored on the SIM, one index per part (a long text arrives as
        concatenated parts, TS 23.040 §9.2.3.24.1), each announced as ``AT+CNMI`` asks
        (``+CMTI: "SM",<index>`` for <mt> 1, ``+CMT:`` with the PDU for <mt> 2). Returns the
        indexes."""
        if not is_e164(sender):
            raise ValueError(f"sender must be E.164: {sender!r}")
        chunks = deliver_chunks(text)
        self._concat_ref = (self._concat_ref + 1) % 256
        when = datetime.now(UTC).replace(microsecond=0).isoformat()
        indexes = []
        for n, chunk in enumerate(chunks, start=1):
            part = (self._concat_ref, len(chunks), n) if len(chunks) > 1 else None
            index = max(self.network.inbox, default=0) + 1
            msg = StoredSms(sender, chunk, when, part=part)
            self.network.inbox[index] = msg
            indexes.append(index)
            for s in list(self._sessions):
                self._announce(s, index, msg)
        self.state_changed()
        return indexes

    def _announce(self, session: Session, index: int, msg: StoredSms) -> None:
        mt = session.interp.cnmi_values[1]
        if mt == 1:
            session.urc(f'+CMTI: "SM",{index}')
        elif mt in (2, 3) and session.interp.sms_mode == 0:
            hex_pdu, length = self.deliver_pdu(msg)
            session.urc(f"+CMT: ,{length}\r\n{hex_pdu}")

    def deliver_pdu(self, msg: StoredSms) -> tuple[str, int]:
        """The SMS-DELIVER PDU of a stored message (with its concatenation header)."""
        return encode_deliver(
            msg.sender, msg.text, datetime.fromisoformat(msg.received_at), msg.part
        )

    @property
    def reachable(self) -> bool:
        """Whether the network can page the SIM: registered, network up, SIM unlocked."""
        return (
            not self.faults.no_network
            and self.network.registration in (1, 5)
            and self.network.sim_state == "READY"
        )

    def incoming_call(self, caller: str) -> JsonDoc:
        """A call to this SIM, routed by the forwarding in force now (modem.emulator.calls); the
        SIM rings where no forwarding took the call. Returns the call history entry."""
        entry = self.desk.call(caller, reachable=self.reachable)
        if entry["rings_sim"]:
            self.ring(caller)
        return entry

    def note_forwarding_write(self, interp: object, command: str, received: float) -> None:
        """The network executed a forwarding write from the connection of ``interp``."""
        who = next((s.name for s in self._sessions if s.interp is interp), "?")
        self.desk.note_write(who, command, received)

    def ring(self, caller: str) -> None:
        """An incoming call: ``RING`` and, where ``AT+CLIP=1``, ``+CLIP: "<number>",145``."""
        for s in list(self._sessions):
            s.urc("+CRING: VOICE" if s.interp.crc else "RING")
            if s.interp.clip:
                ntype = 145 if caller.startswith("+") else 129
                s.urc(f'+CLIP: "{caller}",{ntype},"",,"",0')


def is_gsm7_dcs(hex_pdu: str) -> bool:
    """Whether the PDU's data coding scheme is the GSM 7-bit default alphabet."""
    raw = bytes.fromhex(hex_pdu)
    i = 1 + raw[0]  # skip SMSC
    first = raw[i]
    i += 2  # first octet, TP-MR
    digits = raw[i]
    i += 2 + (digits + 1) // 2  # address length, type, semi-octets
    i += 1  # TP-PID
    del first
    return (raw[i] & 0x0C) == 0
