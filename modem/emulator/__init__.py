"""An emulated GSM modem that keeps the network's side of TS 27.007 / 27.005.

Used in-process by tests (``ModemEmulator``) and standalone by ``hotline modem-sim`` (TCP, pty,
state file, JSON control port: see :mod:`modem.emulator.control`).
"""

from modem.emulator.core import ModemEmulator
from modem.emulator.faults import ErrorFault, Faults
from modem.emulator.network import Forward, SentSms

__all__ = ["ErrorFault", "Faults", "Forward", "ModemEmulator", "SentSms"]
