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
_NAME = re.compile(r"[+^][A-Za-z]+")


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
        body = line[2:]
        name, op, args = _parse(body)
        faults = self.emu.faults
        attempt = self.emu.count_attempt(name)
        if faults.wedged:
            if name == "+CFUN" and op == "=" and args[1:2] == ["1"]:
                faults.wedged = False
                self.emu.schedule_reboot()
            return
        if faults.drop_on == name:
            faults.drop_on = None
            self.drop()
            return
        if faults.hang_on == name:
            faults.hang_on = None
            return
        for err in faults.errors:
            if err.command == name and err.attempt == attempt:
                if name in ("+CCFC", "+CMGS", "D", "+CUSD", "+COPS"):
                    await self.emu.network_delay(name)
                exc = CmsError(err.code) if err.kind == "cms" else CmeError(err.code)
                self._final([], self._error_line(exc))
                return
        try:
            lines = await self._dispatch(name, op, args, body)
        except (CmeError, CmsError) as exc:
            self._final([], self._error_line(exc))
            return
        if lines is None:
            self._final([], "ERROR")
        else:
            self._final(lines, "OK")

    async def _dispatch(
        self, name: str, op: str, args: list[str | None], body: str
    ) -> list[str] | None:
        it = self.interp
        if name == "AT":
            return []
        if name == "D":
            return await it.dial(body[1:].strip())
        if name == "E":
            it.echo = op == "1"
            return []
        if name == "Z":
            it.reset()
            return []
        method = HANDLERS.get(name)
        if method is None:
            return None
        handler: Handler = getattr(it, method)
        answer = handler(op, args)
        result = await answer if isinstance(answer, Awaitable) else answer
        if isinstance(result, PromptFor):
            return await self._prompt(result)
        return list(result)

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


def _parse(body: str) -> tuple[str, str, list[str | None]]:
    """``+CCFC=0,2`` → ("+CCFC", "=", ["0", "2"]); ``D**21*..#;`` → ("D", "", [])."""
    if body == "":
        return "AT", "", []
    head = body[0].upper()
    if head == "D":
        return "D", "", []
    if head in "EZ" and len(body) <= 2:
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
