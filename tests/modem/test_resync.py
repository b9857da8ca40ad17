"""A late answer is never taken for the next command's (issue #17).

The emulator holds the answer to ``AT+CGMM`` past the driver's timeout and is slow to answer the
``AT`` that follows it, so the late ``OK`` arrives while the driver already waits for its next
command. The old resync (send ``AT``, take the first ``OK``, drain 0.1 s) handed the late answers
on, one command off; the sync probe's marker cannot be matched by any earlier answer.
"""

from __future__ import annotations

from modem.at import AtProtocol
from modem.commands import COMMANDS
from modem.driver import Modem
from modem.emulator import ModemEmulator
from modem.errors import ModemTimeout
from tests.modem.conftest import FAST


async def test_late_answer_is_dropped_not_taken_for_the_next(
    emulator: ModemEmulator, url: str
) -> None:
    modem = await Modem.open(url, command_timeout=0.5, network_timeout=2.0, **FAST)  # type: ignore[arg-type]
    try:
        emulator.faults.answer_delay.update({"+CGMM": 0.8, "AT": 0.4})
        try:
            await modem.info()
        except ModemTimeout as exc:
            assert exc.command == "+CGMM"
        else:
            raise AssertionError("+CGMM answered within the timeout: the test proves nothing")
        info = await modem.info()
        assert (info.manufacturer, info.model, info.imei) == (
            "EMU Networks", "HotlineSim 1", "356938035643809",
        )  # fmt: skip
        assert modem.link._proto.stale_finals >= 1  # the late OK was dropped
        assert (await modem.status()).registered
    finally:
        await modem.close()


def test_probe_waits_for_its_marker() -> None:
    proto = AtProtocol()
    proto.send_command("AT+CSQ", COMMANDS["+CSQ"])
    proto.abandon()
    sent = proto.send_command("AT", COMMANDS["AT"])
    assert sent.startswith(b"ATS7=") and sent.endswith(b"S7?\r")
    marker = int(sent[5:].split(b"S")[0])
    proto.receive_data(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")  # the abandoned command's answer
    assert proto.next_event() is None
    proto.receive_data(f"\r\n{marker - 1:03d}\r\n\r\nOK\r\n".encode())  # an older probe's
    assert proto.next_event() is None
    proto.receive_data(f"\r\n{marker:03d}\r\n\r\nOK\r\n".encode())
    event = proto.next_event()
    assert event is not None and getattr(event, "final", None) == "OK"
    assert not proto.desynced and proto.stale_finals == 2
    assert proto.send_command("AT", COMMANDS["AT"]) == b"AT\r"  # in step again: a plain AT


def test_registration_urc_inside_the_registration_query_is_a_urc() -> None:
    proto = AtProtocol()
    proto.send_command("AT+CREG?", COMMANDS["+CREG"])
    proto.receive_data(b"\r\n+CREG: 3\r\n\r\n+CREG: 1,1\r\n\r\nOK\r\n")
    urc, answer = proto.next_event(), proto.next_event()
    assert getattr(urc, "line", None) == "+CREG: 3"
    assert getattr(answer, "lines", None) == ("+CREG: 1,1",)
    proto.send_command("AT+CREG=1", COMMANDS["+CREG"])
    proto.receive_data(b"\r\n+CREG: 5\r\n\r\nOK\r\n")
    assert getattr(proto.next_event(), "line", None) == "+CREG: 5"
    assert getattr(proto.next_event(), "lines", None) == ()
