"""SMTP peers for the notifier's tests and benchmark: a relay that accepts connections and never
says a word, and an aiosmtpd handler that records (or refuses) what it is given."""

from __future__ import annotations

import asyncio
from typing import Any


class SilentSmtp:
    """Accepts TCP connections and never says a word (a hung relay)."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        async def on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._writers.append(writer)

        self.server = await asyncio.start_server(on, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class Inbox:
    def __init__(self, code: str = "250 OK") -> None:
        self.to: list[str] = []
        self.code = code

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.code.startswith("250"):
            self.to += list(envelope.rcpt_tos)
        return self.code
