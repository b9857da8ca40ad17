"""A missed call posted by the PBX over HTTP reaches the callback list, the technician's phone
(SMS through the driver into the modem emulator) and their mailbox (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI, HTTPException, Request

from controller.calls.service import build_call_log
from controller.notifier import build_notifier
from controller.notifier.api import build_router
from modem.driver import Modem
from modem.emulator import ModemEmulator
from tests.notifier.helpers import T0, Clock, lab_config

pytestmark = pytest.mark.slow


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pbx_only(*roles: str) -> Any:
    def dep(request: Request) -> str:
        if request.headers.get("authorization") != "Bearer pbx-token-0123456789":
            raise HTTPException(401, "no")
        if "pbx" not in roles:
            raise HTTPException(403, "no")
        return "pbx-hook"

    return dep


async def test_missed_call_reaches_phone_mailbox_and_callback_list(tmp_path: Path) -> None:
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ready_timeout=10)
    smtp.start()
    emu = ModemEmulator()
    port = await emu.start_tcp("127.0.0.1", 0)
    modem = await Modem.open(f"socket://127.0.0.1:{port}", command_timeout=5, network_timeout=10)
    cfg = lab_config(
        channels=["modem_sms", "email"],
        smtp={"host": "127.0.0.1", "port": smtp_port, "tls": "none", "from": "hl@example.org"},
        poll_interval_s=0.05,
    )
    clock = Clock(T0 + timedelta(minutes=2))
    notifier = build_notifier(cfg, modem=modem, state_dir=tmp_path, clock=clock)
    calls = build_call_log(
        cfg.notifier.calls, cfg.schedule.timezone, tmp_path, notifier, clock=clock
    )
    app = FastAPI()
    app.include_router(build_router(notifier, calls, pbx_only))
    await notifier.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            r = await client.post(
                "/v1/calls",
                headers={"Authorization": "Bearer pbx-token-0123456789"},
                json={
                    "call_id": "a1",
                    "caller": "+420601000999",
                    "line": "primary",
                    "start": "2026-11-25T12:00:00Z",
                    "end": "2026-11-25T12:00:25Z",
                },
            )
        assert r.status_code == 201 and r.json()["missed"]
        for _ in range(200):  # bounded: up to 10 s
            if emu.outbox and inbox.messages:
                break
            await asyncio.sleep(0.05)
        (sms,) = emu.outbox
        assert sms.to == "+420777000001"
        assert sms.text.startswith("HOTLINE missed call from +420601000999 on primary")
        (mail,) = inbox.messages
        assert mail["To"] == "alice@example.org"
        assert mail["Subject"] == "[hotline] missed call from +420601000999"
        assert [c.call_id for c in calls.callbacks()] == ["a1"]
    finally:
        await notifier.stop()
        calls.store.close()
        await modem.close()
        await emu.stop()
        smtp.stop()
