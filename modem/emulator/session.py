"""One connection to the emulated modem: V.250 line discipline, echo, prompt, faults, framing.

Bytes from the DTE are split into command lines at CR (LF ignored, as V.250 says); after ``> `` the
bytes up to Ctrl-Z (send) or ESC (cancel) are the SMS body. Answers are framed ``CR LF line CR LF``
and the final result code obeys ``AT+CMEE`` (0 ``ERROR``, 1 numeric, 2 verbose).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from modem.emulator.commands import (
    HANDLERS,
    CmeError,
    CmsError,
    Handler,
    Interpreter,
    PromptFor,
    split_args,
)
from modem.errors import CME_ERRORS, CMS_ERRORS

if TYPE_CHECKING:
    from modem.emulator.core import ModemEmulator

MAX_INPUT = 4096
_NAME = re.compile(r"[+^$%][A-Za-z]+")


class Session:
    def __init__(
        self,
        emulator: ModemEmulator,
        write: Callable[[bytes], None],
        close: Callable[[], None],
        name: str,
    ) -> None:
        self.emu, self.name = emulator, name
        self._write_raw, self._close = write, close
        self.interp = Interpreter(emulator)
        self.interp.echo = emulator.initial_echo
        self._buf = bytearray()
        self._body: asyncio.Future[str | None] | None = None
        self._lines: asyncio.Queue[str] = asyncio.Queue(maxsize=64)
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    # --- input -----------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.emu.record(self.name, "<", data)
        if self.interp.echo or self.emu.faults.sticky_echo:
            self.write(data)
        self._buf += data
        while self._buf:
            if self._body is not None and not self._body.done():
                if not self._take_body():
                    break
                continue
            cut = self._buf.find(b"\r")
            if cut < 0:
                break
            raw = bytes(self._buf[:cut]).decode("latin-1")
            line = "".join(ch for ch in raw if ch >= " ").strip()  # stray ESC/Ctrl-Z/LF ignored
            del self._buf[: cut + 1]
            if line and not self._lines.full():
                self._lines.put_nowait(line)
        if len(self._buf) > MAX_INPUT:
            self._buf.clear()

    def _take_body(self) -> bool:
        assert self._body is not None
        for i, b in enumerate(self._buf):
            if b in (0x1A, 0x1B):
                text = bytes(self._buf[:i]).decode("utf-8", "replace").replace("\r", "\n")
                del self._buf[: i + 1]
                self._body.set_result(text if b == 0x1A else None)
                return True
        return False

    # --- output ----------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.closed:
            return
        self.emu.record(self.name, ">", data)
        try:
            self._write_raw(data)
        except OSError:
            self.drop()

    def urc(self, line: str) -> None:
        self.write(f"\r\n{line}\r\n".encode())

    def drop(self) -> None:
        """Close the connection (a pulled cable, a USB modem re-enumerating)."""
        if self.closed:
            return
        self.closed = True
        self._task.cancel()
        with contextlib.suppress(OSError):
            self._close()
        self.emu.forget(self)

    # --- commands --------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self.closed:
            line = await self._lines.get()
            try:
                await self._execute(line)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an emulator bug must not kill the connection silently
                self.emu.record(self.name, "!", repr(exc).encode())
                self._final([], "ERROR")

    async def _execute(self, line: str) -> None:
        if line[:2].upper() != "AT":
            return
        commands = split_line(line[2:])
        if commands is None:
            self._final([], self.emu.profile.unknown_command)
            return
        lines: list[str] = []
        for body in commands or [""]:
            name, op, args = _parse(body)
            final = await self._one(name, op, args, body, lines)
            if final != "OK":
                self._final(lines, final) if final else None
                return
        self._final(lines, "OK")

    async def _one(
        self, name: str, op: str, args: list[str | None], body: str, lines: list[str]
    ) -> str:
        """Run one command of a line; its answer lines go to ``lines``. Returns the final result
        code so far ("OK" to go on), or "" when nothing at all must be answered (faults)."""
        faults = self.emu.faults
        attempt = self.emu.count_attempt(name)
        if faults.wedged:
            if name == "+CFUN" and op == "=" and args[1:2] == ["1"]:
                faults.wedged = False
                self.emu.schedule_reboot()
            return ""
        if faults.drop_on == name:
            faults.drop_on = None
            self.drop()
            return ""
        if faults.hang_on == name:
            faults.hang_on = None
            return ""
        delay = faults.answer_delay.pop(name, None)
        if delay:
            await asyncio.sleep(delay)
        for err in faults.errors:
            if err.command == name and err.attempt == attempt:
                if name in ("+CCFC", "+CMGS", "D", "+CUSD", "+COPS"):
                    await self.emu.network_delay(name)
                exc = CmsError(err.code) if err.kind == "cms" else CmeError(err.code)
                return self._error_line(exc)
        try:
            result = await self._dispatch(name, op, args, body)
        except (CmeError, CmsError) as exc:
            return self._error_line(exc)
        if result is None:
            return self.emu.profile.unknown_command
        lines += result
        return "OK"

    async def _dispatch(
        self, name: str, op: str, args: list[str | None], body: str
    ) -> list[str] | None:
        it = self.interp
        basic = self._basic(name, op, args)
        if basic is not None:
            return basic
        if name == "D":
            return await it.dial(body[1:].strip())
        profile = self.emu.profile
        method = HANDLERS.get(name)
        if (name == "+CCFC" and not profile.ccfc) or (
            name[0] == "^" and name not in profile.extra_commands
        ):
            method = None
        if method is None:
            return [] if name in profile.extra_commands else None
        handler: Handler = getattr(it, method)
        answer = handler(op, args)
        result = await answer if isinstance(answer, Awaitable) else answer
        if isinstance(result, PromptFor):
            return await self._prompt(result)
        return list(result)

    def _basic(self, name: str, op: str, args: list[str | None]) -> list[str] | None:
        """V.250 basic commands: E, Z, &F, I, V, Q, S-registers; None for any other name."""
        it = self.interp
        if name == "AT":
            return []
        if name == "E":
            it.echo = op == "1"
            return []
        if name in ("Z", "&F"):
            it.reset()
            return []
        if name == "I":
            return it.ati()
        if name in ("V", "Q", "X", "&C", "&D", "&W", "&K", "H", "L", "M"):
            return []
        if name.startswith("S"):
            reg = int(name[1:])
            if op == "?":
                return [f"{it.s_registers.get(reg, 0):03d}"]
            value = args[0] if args else None
            if reg not in it.s_registers or value is None or not value.isdigit():
                raise CmeError(3)
            if not 0 <= int(value) <= 255:
                raise CmeError(3)
            it.s_registers[reg] = int(value)
            return []
        return None

    async def _prompt(self, prompt: PromptFor) -> list[str]:
        self._body = asyncio.get_running_loop().create_future()
        self.write(b"\r\n> ")
        self._take_body() if self._buf else None
        body = await self._body
        self._body = None
        if body is None:
            return []  # ESC: cancelled, answered OK
        return list(await prompt.finish(body))

    def _error_line(self, exc: CmeError) -> str:
        cmee = self.interp.err_mode
        if isinstance(exc, CmsError):
            text = CMS_ERRORS.get(exc.code, "unknown error") if cmee == 2 else str(exc.code)
            return f"+CMS ERROR: {text}"
        if cmee == 0:
            return "ERROR"
        return f"+CME ERROR: {CME_ERRORS.get(exc.code, 'unknown') if cmee == 2 else exc.code}"

    def _final(self, lines: list[str], final: str) -> None:
        out = "".join(f"\r\n{line}\r\n" for line in lines)
        faults = self.emu.faults
        if faults.mid_response_urc:
            out += f"\r\n{faults.mid_response_urc}\r\n"
        self.write(out.encode() + faults.garbage.encode("latin-1") + f"\r\n{final}\r\n".encode())


_BASIC = re.compile(r"(&[A-Za-z]|[A-CE-RT-Za-ce-rt-z])(\d*)|([Ss])(\d+)(\?|=(\d*))?")


def split_line(body: str) -> list[str] | None:
    """One command line's commands (V.250 §5.2.1 / §5.4): basic commands one after the other
    (``E0V1``), extended ones separated by ``;`` (``+CMEE=1;+CREG=2``), ``D`` takes the rest of
    the line. None when the line cannot be read."""
    out: list[str] = []
    i = 0
    for _ in range(len(body) + 1):
        if i >= len(body):
            return out
        c = body[i]
        if c in " ;":
            i += 1
        elif c in "+^$%":
            j, quoted = i, False
            while j < len(body) and (quoted or body[j] != ";"):
                quoted ^= body[j] == '"'
                j += 1
            out.append(body[i:j])
            i = j
        elif c in "Dd":
            out.append(body[i:])
            return out
        else:
            m = _BASIC.match(body, i)
            if m is None or m.end() == i:
                return None
            out.append(m.group(0))
            i = m.end()
    return out


def _parse(body: str) -> tuple[str, str, list[str | None]]:
    """``+CCFC=0,2`` → ("+CCFC", "=", ["0", "2"]); ``D**21*..#;`` → ("D", "", []); ``S7=45`` →
    ("S7", "=", ["45"]); ``E0`` → ("E", "0", [])."""
    if body == "":
        return "AT", "", []
    head = body[0].upper()
    if head == "D":
        return "D", "", []
    if head == "S" and len(body) > 1 and body[1].isdigit():
        m = re.match(r"[Ss](\d+)(\?|=(\d*))?", body)
        assert m is not None
        if m.group(2) == "?":
            return f"S{int(m.group(1))}", "?", []
        return f"S{int(m.group(1))}", "=", [m.group(3) or None]
    if head == "&" and len(body) >= 2:
        return "&" + body[1].upper(), body[2:] or "0", []
    if head.isalpha():
        return head, body[1:] or "0", []
    m = _NAME.match(body)
    if m is None:
        return "?", "", []
    name, rest = m.group(0).upper(), body[m.end() :]
    if rest == "=?":
        return name, "=?", []
    if rest == "?":
        return name, "?", []
    if rest.startswith("="):
        return name, "=", split_args(rest[1:])
    return name, "", []
