"""HTTP endpoints for incidents, calls, callbacks and call statistics (a FastAPI ``APIRouter``).

The bodies it answers and the parameters it checks are in ``api_models.py``. The API app
mounts it with::

    app.include_router(build_router(notifier, calls, roles_to_permissions(app.state.require),
                                    route_class=GuardedRoute))

``require_role(*roles)`` is a dependency factory (token → principal, 401/403); the principal's
``name`` (or the principal itself, if it is a string) is recorded as who acted.

Roles: ``pbx`` may post call events and nothing else; viewers read; operators and admins
acknowledge incidents and close callbacks. (No ``from __future__ import annotations`` here:
FastAPI must see the route signatures' dependency types, defined inside the functions that
add the routes.)
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.routing import APIRoute

from controller.calls.model import CallEvent
from controller.calls.service import CallLog
from controller.config import Role
from controller.notifier.api_models import (
    CallbackView,
    CallRecorded,
    CloseCallback,
    DeliveryView,
    IncidentDetail,
    IncidentView,
    IsoDate,
    Problem,
    QueryBool,
    RowId,
    StatsView,
    TimelineEntry,
)
from controller.notifier.service import IncidentResolved, Notifier

# FastAPI's ``responses=`` type: one answer's OpenAPI fields (model, description, ...).
Responses = dict[int | str, dict[str, Any]]


def _errors(*codes: int) -> Responses:
    """Documented error answers of a route: a client (and schemathesis) may rely on them."""
    why = {
        404: "no such incident or callback",
        409: "the incident is already resolved",
        503: "the notifier or the call log is not configured on this node",
    }
    return {code: {"model": Problem, "description": why[code]} for code in codes}


def who(principal: object) -> str:
    """The acting principal's name, whatever shape the app's dependency returns."""
    if isinstance(principal, str):
        return principal
    if isinstance(principal, dict) and "name" in principal:
        return str(principal["name"])
    name = getattr(principal, "name", None)
    return str(name) if name is not None else "api"


T = TypeVar("T")


def _need(thing: T | None, what: str) -> T:
    if thing is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{what} is not configured")
    return thing


_PERMISSION_FOR_ROLES: dict[frozenset[str], str] = {
    frozenset({"viewer", "operator", "admin"}): "read",
    frozenset({"operator", "admin"}): "operate",
    frozenset({"pbx"}): "calls",
}


Dependency = Callable[..., object]  # a FastAPI dependency answering the acting principal


class RequireRole(Protocol):
    """``require_role(*roles)``: the dependency that admits those roles (401/403 otherwise)."""

    def __call__(self, *roles: str) -> Dependency: ...


def roles_to_permissions(requirements: Mapping[str, Dependency]) -> RequireRole:
    """A ``require_role`` built on the API app's permission dependencies (``app.state.require``).

    The app grants permissions to roles (viewer: read; operator: read, operate; pbx: calls;
    admin: all); this router asks for roles, so each role set maps to the permission it means.
    """

    def require_role(*roles: str) -> Dependency:
        return requirements[_PERMISSION_FOR_ROLES[frozenset(str(r) for r in roles)]]

    return require_role


@dataclass(frozen=True, slots=True)
class _Guards:
    """The dependencies of the three kinds of caller, each answering the principal."""

    read: Dependency  # viewers, operators, admins
    operate: Dependency  # operators, admins
    pbx: Dependency  # the PBX's webhook token


def build_router(
    notifier: Notifier | None,
    calls: CallLog | None,
    require_role: RequireRole,
    *,
    route_class: type[APIRoute] = APIRoute,
) -> APIRouter:
    """The routes; ``route_class`` lets the app check tokens before bodies are parsed.

    Every handler is ``async`` although the stores are synchronous: each store is one SQLite
    connection shared with the notifier's worker on the event loop, and a plain ``def`` handler
    would run in FastAPI's thread pool, where its statement could land inside a transaction the
    loop has open on that connection (reading its uncommitted rows, or joining it and being
    rolled back with it). The queries are small and local.
    """
    router = APIRouter(prefix="/v1", tags=["alerts and calls"], route_class=route_class)
    guards = _Guards(
        read=require_role(Role.VIEWER, Role.OPERATOR, Role.ADMIN),
        operate=require_role(Role.OPERATOR, Role.ADMIN),
        pbx=require_role(Role.PBX),
    )
    _incident_routes(router, notifier, guards)
    _call_routes(router, calls, guards)
    return router


def _incident_routes(router: APIRouter, notifier: Notifier | None, guards: _Guards) -> None:
    """``/incidents``: list, detail, acknowledge."""
    Reader = Annotated[object, Depends(guards.read)]
    Actor = Annotated[object, Depends(guards.operate)]

    @router.get("/incidents", response_model=list[IncidentView], responses=_errors(503))
    async def list_incidents(
        _: Reader,
        state: Literal["open", "resolved"] | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        code: Annotated[
            str | None,
            Query(
                pattern=r"^[A-Z2-9]{6}$",
                description="only the open incident with this SMS code (`hotline ack CODE`)",
            ),
        ] = None,
    ) -> list[IncidentView]:
        n: Notifier = _need(notifier, "the notifier")
        if code is not None:
            found = n.store.open_incident_by_code(code)
            return [IncidentView.of(found)] if found is not None else []
        return [IncidentView.of(i) for i in n.store.incidents(state, limit)]

    @router.get(
        "/incidents/{incident_id}", response_model=IncidentDetail, responses=_errors(404, 503)
    )
    async def get_incident(incident_id: RowId, _: Reader) -> IncidentDetail:
        n: Notifier = _need(notifier, "the notifier")
        inc = n.store.incident(incident_id)
        if inc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such incident")
        return IncidentDetail(
            **IncidentView.of(inc).model_dump(),
            detail=inc.detail,
            timeline=[TimelineEntry(at=a, what=w) for a, w in n.store.timeline(inc.id)],
            deliveries=[DeliveryView.of(r) for r in n.store.outbox(inc.id)],
        )

    @router.post(
        "/incidents/{incident_id}/ack",
        response_model=IncidentView,
        responses=_errors(404, 409, 503),
    )
    async def ack_incident(incident_id: RowId, principal: Actor) -> IncidentView:
        n: Notifier = _need(notifier, "the notifier")
        try:
            inc = await n.acknowledge(incident_id, who(principal), "api")
        except IncidentResolved as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, "the incident is resolved") from exc
        if inc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such incident")
        return IncidentView.of(inc)


def _call_routes(router: APIRouter, calls: CallLog | None, guards: _Guards) -> None:
    """``/calls`` (the PBX's events), ``/callbacks`` and ``/calls/stats``."""
    Reader = Annotated[object, Depends(guards.read)]
    Actor = Annotated[object, Depends(guards.operate)]
    Pbx = Annotated[object, Depends(guards.pbx)]

    @router.post(
        "/calls",
        response_model=CallRecorded,
        responses={
            201: {"model": CallRecorded, "description": "a new call"},
            200: {"description": "an update of a known call, or a duplicate"},
            **_errors(503),
        },
    )
    async def post_call(event: CallEvent, _: Pbx, response: Response) -> CallRecorded:
        log_: CallLog = _need(calls, "the call log")
        r = await log_.record(event)
        response.status_code = status.HTTP_201_CREATED if r.status == "new" else status.HTTP_200_OK
        return CallRecorded(
            status=r.status, missed=r.missed, callback_id=r.callback_id, problematic=r.problematic
        )

    @router.get("/callbacks", response_model=list[CallbackView], responses=_errors(503))
    async def list_callbacks(_: Reader, include_closed: QueryBool = False) -> list[CallbackView]:
        log_: CallLog = _need(calls, "the call log")
        return [CallbackView.of(c) for c in log_.callbacks(open_only=not include_closed)]

    @router.post(
        "/callbacks/{callback_id}/close",
        response_model=CallbackView,
        responses=_errors(404, 503),
    )
    async def close_callback(
        callback_id: RowId, body: CloseCallback, principal: Actor
    ) -> CallbackView:
        log_: CallLog = _need(calls, "the call log")
        cb = log_.close_callback(
            callback_id, body.by or who(principal), body.called_back_at, body.note
        )
        if cb is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such callback")
        return CallbackView.of(cb)

    @router.get("/calls/stats", response_model=StatsView, responses=_errors(503))
    async def call_stats(
        _: Reader,
        day: Annotated[IsoDate | None, Query(description="YYYY-MM-DD; default today")] = None,
    ) -> StatsView:
        log_: CallLog = _need(calls, "the call log")
        return StatsView.of(log_.daily_stats(day))


_ALERTS_JS = FilePath(__file__).with_name("static") / "alerts.js"


def dashboard_assets_router() -> APIRouter:
    """``GET /dashboard/alerts.js``: the dashboard panels for incidents, callbacks and call stats.

    It holds no data (the panels fetch with the user's token), so it needs no token, like the
    dashboard's own assets. The page loads it with ``<script src="/dashboard/alerts.js" defer>``
    after ``dashboard.js``.
    """
    router = APIRouter(include_in_schema=False)
    script = _ALERTS_JS.read_bytes()

    @router.get("/dashboard/alerts.js")
    def alerts_js() -> Response:
        return Response(
            content=script,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    return router
