"""Sans-I/O AT protocol: feed it bytes, take out complete responses, URCs and prompts.

Like h11, this module owns no socket and no clock: ``send_command()`` returns the bytes to write
and remembers which command is pending, ``receive_data()`` takes whatever arrived, ``next_event()``
hands out frozen events in order. Knowing the pending command is how a line is classified:

* the echo of the command (``ATE1``) is skipped;
* ``OK``, ``ERROR``, ``+CME ERROR: n``, ``+CMS ERROR: n`` (and ``NO CARRIER``... for ``ATD``) end
  the command and produce one :class:`Response` with the answer lines collected so far;
* a line starting with the command's response prefix is an answer line; a known unsolicited prefix
  (``RING``, ``+CMTI:``, ``+CLIP:``...) or anything else unexpected becomes a :class:`Urc`, so a
  ``RING`` arriving between ``+CCFC: ...`` and ``OK`` is neither lost nor mixed into the answer;
* after ``+CMGR:`` (and the ``+CMT:`` URC) the next line is raw SMS data, taken verbatim even if the
  SMS text reads "OK" or "+CME ERROR: 3";
* ``> `` without a line end is the SMS :class:`Prompt`, but only while a prompting command waits.

With no command pending, every line is a URC (including a late ``OK`` after a timeout, which the
driver then ignores). Lines longer than ``MAX_LINE`` are dropped, so garbage cannot grow memory.

After a timeout (:meth:`AtProtocol.abandon`) the abandoned command's answer may still be on its
way, and would be taken for the answer to whatever is sent next. So the next ``AT`` is sent as a
sync probe with a marker no earlier answer can carry: ``ATS7=<m>S7?`` (set the V.250 connection
timeout register to <m> and read it back, in one line). Until the answer with the marker arrives,
final result codes are the abandoned command's and are dropped; the probe's own ``OK`` puts the
channel back in step. S7 only bounds data-call set-up, which this project never makes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from modem.commands import CommandSpec, checked

URC_PREFIXES = (
    "RING", "+CRING:", "+CLIP:", "+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CREG:",
    "+CEREG:", "+CGREG:", "+CUSD:", "+CIEV:", "+CPIN:", "+QIND:", "^", "RDY", "+CFUN:",
    "SMS Ready", "Call Ready", "NO CARRIER",
)  # fmt: skip
DATA_URCS = ("+CMT:", "+CDS:", "+CBM:")  # a header line followed by one PDU/text line
_DIAL_FINALS = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
VENDOR_FINALS = ("COMMAND NOT SUPPORT", "TOO MANY PARAMETERS")
"""Huawei's final results for an unknown command / extra parameters (M2M AT spec §21.1.3)."""
MARKERS = range(40, 100)
"""S7 values the sync probe uses (seconds; any value 1-255 is valid, these stay sensible)."""
_CTRL = "\x1a\x1b"


@dataclass(frozen=True, slots=True)
class Response:
    """A command's answer: its information lines and the final result line."""

    command: str
    lines: tuple[str, ...]
    final: str

    @property
    def ok(self) -> bool:
        return self.final == "OK"


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code; ``data`` holds the line that follows ``+CMT:``-style headers."""

    line: str
    data: str | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """The ``> `` prompt: the modem waits for the SMS body and Ctrl-Z."""

    command: str


Event = Response | Urc | Prompt


class _Pending:
    __slots__ = ("body", "line", "lines", "marker", "marker_seen", "prompted", "spec")

    def __init__(self, line: str, spec: CommandSpec, marker: int | None = None) -> None:
        self.line, self.spec = line, spec
        self.lines: list[str] = []
        self.body: str | None = None
        self.prompted = False
        self.marker, self.marker_seen = marker, False


class AtProtocol:
    """The DTE side of V.250 / TS 27.007 line traffic, without any I/O."""

    MAX_LINE = 4096

    def __init__(self) -> None:
        self._buf = bytearray()
        self._events: deque[Event] = deque()
        self._pending: _Pending | None = None
        self._data_for: tuple[str, bool] | None = None  # (header line, belongs to response)
        self.dropped_bytes = 0
        self.desynced = False
        """A command was abandoned: its answer may still come; the next ``AT`` is a probe."""
        self.stale_finals = 0
        """Final result codes dropped as the late answers of abandoned commands."""
        self._marker = MARKERS[0]

    @property
    def pending(self) -> str | None:
        return self._pending.line if self._pending else None

    def send_command(self, line: str, spec: CommandSpec) -> bytes:
        """Start a command; returns the bytes to write. One command at a time."""
        if self._pending is not None:
            raise RuntimeError(f"command {self._pending.line!r} still pending")
        marker = None
        if line == "AT" and self.desynced:
            marker = self._next_marker()
            line = f"ATS7={marker}S7?"
        self._pending = _Pending(checked(line), spec, marker)
        self._data_for = None
        return line.encode("ascii") + b"\r"

    def _next_marker(self) -> int:
        """A marker different from the last one (whose probe may itself have been abandoned)."""
        nxt = self._marker + 1
        self._marker = nxt if nxt in MARKERS else MARKERS[0]
        return self._marker

    def send_body(self, body: str) -> bytes:
        """After a :class:`Prompt`: the SMS body (hex PDU or cleaned text) and Ctrl-Z."""
        if self._pending is None or not self._pending.prompted:
            raise RuntimeError("no prompt to answer")
        if any(ch in body for ch in _CTRL + "\r\n") or not body.isprintable():
            raise ValueError("SMS body must not contain control characters")
        self._pending.body = body
        return body.encode("ascii", "strict") + b"\x1a"

    @staticmethod
    def cancel_body() -> bytes:
        """ESC cancels an SMS at the prompt (TS 27.005 §3.5.1)."""
        return b"\x1b"

    def abandon(self) -> None:
        """Forget the pending command (timed out); its late answer is dropped by the next probe."""
        self._pending = None
        self._data_for = None
        self.desynced = True

    def receive_data(self, data: bytes) -> None:
        self._buf += data
        while True:
            cut = _line_end(self._buf)
            if cut < 0:
                break
            raw = bytes(self._buf[:cut])
            del self._buf[: cut + 1]
            if raw:
                self._on_line(raw.decode("utf-8", "replace").strip(_CTRL + " \t"))
        if len(self._buf) > self.MAX_LINE:
            self.dropped_bytes += len(self._buf)
            self._buf.clear()
        self._check_prompt()

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def _check_prompt(self) -> None:
        p = self._pending
        if p is None or not p.spec.prompt or p.prompted:
            return
        if bytes(self._buf).strip() == b">":
            self._buf.clear()
            p.prompted = True
            self._events.append(Prompt(p.line))

    def _on_line(self, line: str) -> None:
        if not line:
            return
        if self._data_for is not None:
            header, in_response = self._data_for
            self._data_for = None
            if in_response and self._pending is not None:
                self._pending.lines.append(line)
            else:
                self._events.append(Urc(header, line))
            return
        p = self._pending
        if p is None:
            self._urc(line)
            return
        if line == p.line or (p.body is not None and line == p.body):
            return  # echo
        final = (
            line in ("OK", "ERROR", *VENDOR_FINALS)
            or line.startswith(("+CME ERROR:", "+CMS ERROR:"))
            or (p.spec.dial and line in _DIAL_FINALS)
        )
        if p.marker is not None:
            self._on_probe_line(p, line, final)
        elif final:
            self._finish(line)
        elif (
            p.spec.prefix is not None
            and line.startswith(p.spec.prefix)
            and not _registration_urc(p.line, line)
        ):
            p.lines.append(line)
            if p.spec.data_after and line.startswith(p.spec.data_after):
                self._data_for = (line, True)
        elif p.spec.prefix is None and not line.startswith(URC_PREFIXES):
            p.lines.append(line)
        else:
            self._urc(line)

    def _on_probe_line(self, p: _Pending, line: str, final: bool) -> None:
        """While the sync probe waits: everything before its marker is the abandoned answer."""
        if not p.marker_seen:
            if line.isdigit() and int(line) == p.marker:
                p.marker_seen = True
            elif final:
                self.stale_finals += 1
            elif line.startswith(URC_PREFIXES):
                self._urc(line)
            return
        if final:
            self.desynced = line != "OK"
            self._finish(line)
        elif line.startswith(URC_PREFIXES):
            self._urc(line)

    def _urc(self, line: str) -> None:
        if line.startswith(DATA_URCS):
            self._data_for = (line, False)
        else:
            self._events.append(Urc(line))

    def _finish(self, final: str) -> None:
        assert self._pending is not None
        p, self._pending = self._pending, None
        self._events.append(Response(p.line, tuple(p.lines), final))


def _registration_urc(command: str, line: str) -> bool:
    """A ``+CREG:`` / ``+CEREG:`` line that is the URC, though its command is pending: the set
    command answers no such line, and the query's answer starts ``<n>,<stat>`` while the URC
    with ``<n>`` = 1 is ``<stat>`` alone (TS 27.007 §7.2)."""
    if not line.startswith(("+CREG:", "+CEREG:")):
        return False
    return not command.endswith("?") or "," not in line


def _line_end(buf: bytearray) -> int:
    cr, lf = buf.find(b"\r"), buf.find(b"\n")
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return min(cr, lf)
