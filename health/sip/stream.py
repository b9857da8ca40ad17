"""OPTIONS over TCP or TLS: connect, send, read until our response, close.

A refused connect (TCP RST) or a reset fails at once with its own reason. Each probe opens its own
connection: a keep-alive should prove that a new call's connection would be accepted, too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable

from health.sip.message import (
    Exchange,
    OptionsRequest,
    SipParseError,
    StreamFramer,
    parse_response,
)

_CLOSE_WAIT_S = 0.5


def tls_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def options_stream(
    host: str,
    port: int,
    build: Callable[[str, int], OptionsRequest],
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Exchange:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            return await _exchange(host, port, build, ssl_context, started)
    except TimeoutError:
        return Exchange(None, "timeout", None)
    except ConnectionRefusedError:
        return Exchange(None, "connection refused", _ms(started))
    except ConnectionResetError:
        return Exchange(None, "connection reset", _ms(started))
    except ssl.SSLError as exc:
        return Exchange(None, f"TLS: {exc.reason or exc}", _ms(started))
    except SipParseError as exc:
        return Exchange(None, f"malformed reply: {exc}", _ms(started))
    except OSError as exc:
        return Exchange(None, exc.strerror or type(exc).__name__, _ms(started))


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


async def _exchange(
    host: str,
    port: int,
    build: Callable[[str, int], OptionsRequest],
    ssl_context: ssl.SSLContext | None,
    started: float,
) -> Exchange:
    reader, writer = await asyncio.open_connection(
        host, port, ssl=ssl_context, server_hostname=host if ssl_context else None
    )
    try:
        local = writer.get_extra_info("sockname")
        request = build(local[0], local[1])
        writer.write(request.data)
        await writer.drain()
        framer = StreamFramer()
        notes: list[str] = []
        for _ in range(64):  # bounded: a peer that streams junk cannot keep us here
            chunk = await reader.read(65536)
            if not chunk:
                extra = f" ({notes[-1]})" if notes else ""
                return Exchange(None, f"connection closed by peer{extra}", _ms(started))
            for message in framer.feed(chunk):
                response = parse_response(message)
                if not response.answers(request):
                    notes.append("reply with foreign branch/Call-ID ignored")
                elif response.code >= 200:
                    return Exchange(response, "", _ms(started))
        return Exchange(None, "no matching reply", _ms(started))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_CLOSE_WAIT_S):
                await writer.wait_closed()
