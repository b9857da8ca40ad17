"""The dashboard: one static page (HTML + JS + CSS) served by the API.

The page holds no data and needs no token to load; it asks the operator for a token, keeps it in
``sessionStorage`` and calls ``/v1/*`` with it. Everything is local (the controller may run with no
internet access), and a strict Content-Security-Policy allows only this origin's script and style.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_JS = "text/javascript; charset=utf-8"
# The page's scripts, in the order dashboard.html loads them (each fills window.hotlineDashboard).
SCRIPTS = ("dash-format.js", "dash-callpath.js", "dash-controls.js", "dashboard.js")
_ASSETS = {
    "dashboard.html": "text/html; charset=utf-8",
    **dict.fromkeys(SCRIPTS, _JS),
    "dashboard.css": "text/css; charset=utf-8",
}


def _load() -> dict[str, bytes]:
    static = resources.files("controller.api").joinpath("static")
    return {name: static.joinpath(name).read_bytes() for name in _ASSETS}


def dashboard_router() -> APIRouter:
    assets = _load()
    router = APIRouter(include_in_schema=False)

    def _serve(name: str) -> Response:
        return Response(
            content=assets[name],
            media_type=_ASSETS[name],
            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
        )

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @router.get("/dashboard")
    async def page() -> Response:
        return _serve("dashboard.html")

    for name in _ASSETS:
        if name != "dashboard.html":
            router.add_api_route(f"/dashboard/{name}", _asset(_serve, name), methods=["GET"])
    return router


def _asset(serve: Callable[[str], Response], name: str) -> Callable[[], Awaitable[Response]]:
    async def asset() -> Response:
        return serve(name)

    asset.__name__ = "dashboard_" + name.replace(".", "_").replace("-", "_")
    return asset
