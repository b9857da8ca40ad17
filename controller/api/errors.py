"""Error bodies and response headers shared by every endpoint.

422 bodies keep FastAPI's shape (``{"detail": [{"loc", "msg", "type"}]}``) so clients can point at
the faulty field, but drop ``input`` and ``ctx``: a rejected value can be arbitrary client text
(or, if a header were ever validated, a credential) and must not be echoed back or logged.
Unexpected exceptions answer a bare 500 and log only the exception's type and the request line.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logsafe import esc

log = logging.getLogger("hotline.api")


class ErrorBody(BaseModel):
    detail: str


class Issue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[Issue]


def request_line(request: Request) -> str:
    """``'METHOD /path'`` for a log line, escaped (the path is percent-decoded client text)."""
    return "'" + esc(f"{request.method} {request.url.path}") + "'"


def _issues(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        out.append(
            {
                "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                "msg": msg.removeprefix("Value error, "),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = _issues(exc)
    # The locations name the client's own keys (an unknown body key, a query parameter): escaped,
    # or a key holding a newline would write a log line of its own (issue 16).
    where = ",".join(".".join(str(p) for p in i["loc"]) for i in issues)
    log.info("api_rejected status=422 request=%s fields=%s", request_line(request), esc(where))
    return JSONResponse(status_code=422, content={"detail": issues})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8): a bad body
        log.info("api_rejected status=422 request=%s fields=body", request_line(request))
        issue = {"loc": ["body"], "msg": "the body is not valid JSON", "type": "json_invalid"}
        return JSONResponse(status_code=422, content={"detail": [issue]})
    return await http_exception_handler(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("api_error request=%s error=%s", request_line(request), type(exc).__name__)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_API_HEADERS = [(b"cache-control", b"no-store")]


class SecurityHeaders:
    """Adds defensive headers to every response; API answers are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = _COMMON_HEADERS + (_API_HEADERS if not path.startswith("/dashboard") else [])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
