"""What every part of the emulated modem's command set shares: errors, argument parsing, settings.

The command handlers live in mixins (:mod:`modem.emulator.commands`, :mod:`modem.emulator.sms`,
:mod:`modem.emulator.general`); each takes ``(operator, arguments)`` and returns answer lines or
raises :class:`CmeError` / :class:`CmsError`, which the session turns into the final result code in
the form ``AT+CMEE`` selects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from modem.emulator.network import NetworkState
from modem.emulator.profiles import Profile

if TYPE_CHECKING:
    from modem.emulator.core import ModemEmulator


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


def to_int(value: str | None, default: int | None = None) -> int:
    """An integer argument; a missing one takes ``default`` (CME 3 when there is none)."""
    if value is None:
        if default is None:
            raise CmeError(3)
        return default
    if not value.isdigit():
        raise CmeError(3)
    return int(value)


def arg(args: list[str | None], i: int) -> str | None:
    return args[i] if i < len(args) else None


class InterpreterBase:
    """Per-connection settings (echo, CMEE, character set, SMS mode, URC switches)."""

    def __init__(self, emulator: ModemEmulator) -> None:
        self.emu = emulator
        self.reset()

    def reset(self) -> None:
        """ATZ / power-up: the factory settings (TS 27.007 and TS 27.005 defaults)."""
        self.echo, self.err_mode, self.charset, self.sms_mode = True, 0, "IRA", 0
        self.clip, self.creg_n, self.cereg_n = False, 0, 0
        self.cnmi_values = [2, 1, 0, 0, 0]
        self.crc = False
        self.ussd_text = not self.profile.ussd_packed
        self.s_registers = {0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 60, 8: 2, 10: 15}
        self.cusd_n = 0

    @property
    def profile(self) -> Profile:
        return self.emu.profile

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
            raise CmsError(331) if sms else CmeError(self.profile.cme_no_network)

    # --- the TE character set (TS 27.007 §5.5) --------------------------------------------
    def te_decode(self, raw: str) -> str:
        """A string argument as the TE sent it, in the ``AT+CSCS`` character set."""
        if self.charset == "UCS2":
            try:
                return bytes.fromhex(raw).decode("utf-16-be")
            except ValueError as exc:
                raise CmeError(25) from exc
        return raw

    def te_encode(self, text: str) -> str:
        """A string for an answer line, in the ``AT+CSCS`` character set."""
        if self.charset == "UCS2":
            return text.encode("utf-16-be").hex().upper()
        return text
