"""The notifier against ``hotline modem-sim`` as its own process, faults asked over its control
port: a +CMGS refused with +CMS 331 reaches Twilio (the real client) with one modem try, and a
+CMGS answered after ``send_timeout_s`` gives exactly one second copy."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.notifier.channels import ModemSmsChannel, TwilioSmsChannel
from controller.notifier.settings import TwilioSettings
from modem.driver import Modem
from tests.notifier.helpers import MakeNotifier, signal
from tests.notifier.twilio_lab import TwilioLab, twilio_lab
from tests.support.modem_sim import PIN_ENV, modem_sim_argv
from tests.support.zk_lab import free_ports

ROOT = Path(__file__).resolve().parents[2]


class Sim:
    def __init__(self, tmp: Path) -> None:
        self.port, self.control = free_ports(2)
        env = dict(os.environ, **{PIN_ENV: "1234"}, PYTHONPATH=str(ROOT))
        argv = modem_sim_argv(
            serve=["--listen", f"127.0.0.1:{self.port}"], control_port=self.control, latency_s=0.05
        )
        with (tmp / "sim.log").open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.ask({"cmd": "get_state"})
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("modem-sim did not start")

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control), timeout=5) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            reply: dict[str, Any] = json.loads(s.makefile().readline())
        return reply

    def outbox(self) -> list[dict[str, Any]]:
        return list(self.ask({"cmd": "get_state"})["state"]["outbox"])

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    s = Sim(tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def modem(sim: Sim) -> AsyncIterator[Modem]:
    m = await Modem.open(
        f"socket://127.0.0.1:{sim.port}", pin="1234", command_timeout=5, network_timeout=10
    )
    try:
        yield m
    finally:
        await m.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[TwilioLab]:
    with twilio_lab(tmp_path) as lab:
        yield lab


def attempts(sim: Sim) -> int:
    lines = sim.ask({"cmd": "transcript", "last": 500}).get("transcript", [])
    return sum(1 for line in lines if "AT+CMGS" in str(line))


async def test_331_over_the_control_port_falls_through_to_twilio(
    sim: Sim, modem: Modem, lab: TwilioLab, make_notifier: MakeNotifier
) -> None:
    faults = [{"command": "+CMGS", "attempt": k, "code": 331, "kind": "cms"} for k in range(1, 9)]
    assert sim.ask({"cmd": "set_fault", "faults": {"errors": faults}})["ok"]
    twilio = TwilioSmsChannel(TwilioSettings.model_validate(lab.settings()))
    n = make_notifier(
        {"modem_sms": ModemSmsChannel(modem), "twilio_sms": twilio},
        channels=["modem_sms", "twilio_sms"],
        twilio=lab.settings(),
        escalation_timeout_s=0,
    )
    await n.signal(signal())
    assert await n.run_once() == 1
    assert [r["form"]["To"] for r in lab.server.requests] == ["+420777000001"]
    assert sim.outbox() == [] and attempts(sim) == 1  # one try: no modem retries


async def test_a_late_modem_gives_one_second_copy(
    sim: Sim, modem: Modem, lab: TwilioLab, make_notifier: MakeNotifier
) -> None:
    assert sim.ask({"cmd": "set_fault", "faults": {"latency_per_command": {"+CMGS": 1.5}}})["ok"]
    twilio = TwilioSmsChannel(TwilioSettings.model_validate(lab.settings()))
    n = make_notifier(
        {"modem_sms": ModemSmsChannel(modem), "twilio_sms": twilio},
        channels=["modem_sms", "twilio_sms"],
        twilio=lab.settings(),
        escalation_timeout_s=0,
        reminder_interval_s=0,
        send_timeout_s=0.5,
    )
    await n.signal(signal())
    await n.run_once()
    (row,) = n.store.outbox()
    assert row.state == "sent" and row.channel == "twilio_sms" and row.unknown_on == "modem_sms"
    for _ in range(100):  # the modem delivers late: the network has it after 1.5 s
        if sim.outbox():
            break
        await asyncio.sleep(0.05)
    await n.run_once()
    assert len(sim.outbox()) == 1 and len(lab.server.requests) == 1  # two copies, never three
