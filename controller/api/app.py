"""The FastAPI application: ``create_app(service, config, *, notifier=None, calls=None)``.

The API records intent and reads state; the reconcile loop acts (STYLE lesson 10). Every handler is
a thin translation between HTTP and ``controller.service.contract.ControllerService``:

- ``/healthz``, ``/readyz``, ``/leader``: no token (load balancers). ``/leader`` answers 200 only
  on the node that may actuate now (leader, connected, lease running: a leader cut off from the
  ZooKeeper quorum says 503 once its lease ends), 503 elsewhere; ``/readyz`` 503 until ready.
- with ``cluster`` (the daemon's service): ``/v1/cluster`` (``read``), and a follower's reads of
  the event log, incidents, calls and callbacks answered by the leader (``controller.api.cluster``).
- ``/metrics``: Prometheus text; needs a ``read`` token unless ``api.metrics_public``.
- ``/v1/status``, ``/v1/events``, ``/v1/topology``, ``/v1/whoami``: ``read`` (viewer, operator,
  admin); ``/v1/whoami`` names the token's role and permissions (for the dashboard's controls).
- ``/v1/failover``, ``/v1/failback``, ``/v1/pause``, ``/v1/resume``: ``operate`` (operator,
  admin). The service audits each with the token's name as ``who``. The answer is the
  ``ActionResult`` with status 200 when the loop verified the result in the world, 202 when the
  request was accepted but not (yet) verified, 409 when the controller refused it.
- with ``notifier`` and/or ``calls`` (controller.notifier / controller.calls): the alerts router
  (``/v1/incidents``, ``/v1/calls``, ``/v1/callbacks``, ``/v1/calls/stats``, see
  ``controller.notifier.api``) on the same tokens, and the dashboard's incidents/callbacks/stats
  panels (``/dashboard/alerts.js``). ``POST /v1/calls`` needs the ``calls`` permission, which
  only the ``pbx`` role holds; a ``pbx`` token may do nothing else.
- ``/v1/leader/handover``: ``admin`` (a leadership action). The service's ``handover(who)``
  gives up leadership: 200 when another node leads now, 202 accepted but not verified, 409 when
  nothing moved (e.g. this node is not the leader); 501 when the service has no ``handover``.
- no token → 401 (``WWW-Authenticate: Bearer``); a token whose role lacks the permission → 403;
  a bad body or query → 422 naming each faulty field.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from controller.api.auth import (
    GRANTS,
    GuardedRoute,
    Permission,
    Principal,
    Requirement,
    TokenRegistry,
    describe_roles,
)
from controller.api.bodies import (
    FailoverBody,
    PauseRequest,
    ReasonRequest,
    failover_request_model,
)
from controller.api.cluster import ClusterSource, cluster_routes, install_leader_proxy
from controller.api.dashboard import dashboard_router
from controller.api.errors import ErrorBody, SecurityHeaders, install_error_handlers
from controller.api.metrics import ApiMetrics
from controller.api.peers import peer_clients
from controller.api.query import refuse_unknown_query
from controller.config import HotlineConfig
from controller.metrics import PROMETHEUS_TEXT, exposition, new_registry
from controller.metrics.status import StatusCollector
from controller.service.contract import ActionResult, ControllerService, EventRecord, StatusReport

if TYPE_CHECKING:
    from controller.calls.service import CallLog
    from controller.notifier.service import Notifier

log = logging.getLogger("hotline.api")

EVENTS_MAX = 1000

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no token, or an unknown token"},
    403: {"model": ErrorBody, "description": "the token's role may not do this"},
}
_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_AUTH_RESPONSES,
    200: {"model": ActionResult, "description": "done and verified in the world"},
    202: {"model": ActionResult, "description": "accepted, not (yet) verified"},
    409: {"model": ActionResult, "description": "refused by the controller (see message)"},
}


def action_status(result: ActionResult) -> int:
    """The HTTP status of a manual action's outcome (documented in the module docstring)."""
    if not result.accepted:
        return 409
    return 200 if result.verified else 202


def _outcome(status: int) -> str:
    return {200: "verified", 202: "accepted", 409: "refused"}.get(status, "error")


def _probe_routes(app: FastAPI, service: ControllerService, cfg: HotlineConfig) -> None:
    node = cfg.node.name

    @app.get("/healthz", tags=["probes"], summary="the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "node": node}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="200 once the controller is ready, else 503",
        responses={503: {"description": "not ready"}},
    )
    async def readyz() -> JSONResponse:
        ready = service.is_ready()
        return JSONResponse({"ready": ready, "node": node}, status_code=200 if ready else 503)

    @app.get(
        "/leader",
        tags=["probes"],
        summary="200 only on the node that may actuate now (for load balancers), else 503",
        responses={503: {"description": "this node may not actuate now"}},
    )
    async def leader() -> JSONResponse:
        acting = service.is_leader()
        return JSONResponse({"leader": acting, "node": node}, status_code=200 if acting else 503)


def _metrics_route(app: FastAPI, registry: CollectorRegistry, read: Requirement | None) -> None:
    deps = [Depends(read)] if read is not None else []
    responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}
    }
    if read is not None:  # JSON errors on a text/plain route: spell the media type out
        error = {"type": "object", "properties": {"detail": {"type": "string"}}}
        for code, info in _AUTH_RESPONSES.items():
            responses[code] = {
                "description": info["description"],
                "content": {"application/json": {"schema": error}},
            }

    @app.get(
        "/metrics",
        tags=["probes"],
        summary="Prometheus metrics (text format 0.0.4)",
        dependencies=deps,
        response_class=PlainTextResponse,
        responses=responses,
    )
    async def prometheus() -> Response:
        # Collected here, on the event loop: the collectors read the loop's cached view.
        return Response(exposition(registry), media_type=PROMETHEUS_TEXT)


def _metrics_registry(
    service: ControllerService, cfg: HotlineConfig, metrics: ApiMetrics, notifier: Notifier | None
) -> CollectorRegistry:
    """This app's registry (not the process-wide default: apps in one process stay apart)."""
    collectors: list[Collector] = [StatusCollector(service, cfg.node.name)]
    collectors += service.collectors()
    if notifier is not None:
        collectors.append(notifier.collector())
    collectors.append(metrics)
    return new_registry(collectors)


class LineView(BaseModel):
    number: str
    depends_on: list[str]


class ClusterView(BaseModel):
    """The PBX cluster: up while ``quorum`` of its ``nodes`` are (``depends_on`` may name it)."""

    name: str
    nodes: list[str]
    quorum: int


class Topology(BaseModel):
    """The static part of the call path (from the config), for the dashboard's picture."""

    node: str
    hotline: str
    lines: dict[str, LineView]
    technicians: list[str]
    pbx_cluster: ClusterView


class Caller(BaseModel):
    """Who the presented token is (its name, role and permissions), e.g. for the dashboard to
    show only the controls the token may use."""

    name: str
    role: str
    permissions: list[str]


def _topology(cfg: HotlineConfig) -> Topology:
    lines = {
        name: LineView(number=line.forward_to, depends_on=list(line.depends_on))
        for name, line in (("primary", cfg.lines.primary), ("secondary", cfg.lines.secondary))
    }
    return Topology(
        node=cfg.node.name,
        hotline=cfg.hotline.number,
        lines=lines,
        technicians=[t.name for t in cfg.oncall.technicians],
        pbx_cluster=ClusterView(
            name=cfg.pbx_cluster.name,
            nodes=list(cfg.pbx_cluster.nodes),
            quorum=cfg.pbx_cluster.quorum,
        ),
    )


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_only(value: object) -> object:
    # pydantic's lax datetime would also take "0.5" (Unix seconds) or a bare date; be ISO 8601.
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("not an ISO 8601 date-time (e.g. 2026-11-25T09:00:00Z)")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


class EventsQuery(BaseModel):
    """Query of ``/v1/events``; unknown parameters are errors (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid")

    since: IsoDateTime | None = Field(
        default=None, description="ISO 8601; only events after this instant (UTC if naive)"
    )
    limit: int = Field(default=100, ge=1, le=EVENTS_MAX, description="at most this many")


def _read_routes(
    router: APIRouter, service: ControllerService, cfg: HotlineConfig, read: Requirement
) -> None:
    topology = _topology(cfg)

    @router.get("/v1/topology", response_model=Topology, responses=_AUTH_RESPONSES)
    async def get_topology(_: Principal = Depends(read)) -> Topology:  # noqa: B008
        """The hotline number, each line's number and the components it depends on."""
        return topology

    @router.get("/v1/whoami", response_model=Caller, responses=_AUTH_RESPONSES)
    async def whoami(who: Principal = Depends(read)) -> Caller:  # noqa: B008
        """The token's name, role and permissions (never the token)."""
        granted = sorted(p.value for p in GRANTS[who.role])
        return Caller(name=who.name, role=who.role.value, permissions=granted)

    @router.get("/v1/status", response_model=StatusReport, responses=_AUTH_RESPONSES)
    async def status(_: Principal = Depends(read)) -> StatusReport:  # noqa: B008
        """Node, leader, mode, active route and number, components, override, pause, flapping."""
        return service.status()

    @router.get("/v1/events", response_model=list[EventRecord], responses=_AUTH_RESPONSES)
    async def events(
        query: Annotated[EventsQuery, Query()],
        _: Principal = Depends(read),  # noqa: B008
    ) -> list[EventRecord]:
        """Recent events, oldest first."""
        since = query.since
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return service.events(since, query.limit)


def _respond(action: str, who: str, result: ActionResult, **details: object) -> JSONResponse:
    status = action_status(result)
    return_outcome = _outcome(status)
    extra = " ".join(f"{k}={v}" for k, v in details.items())
    log.info(
        "api_action action=%s who=%s status=%d outcome=%s route=%s event_id=%s %s",
        action,
        who,
        status,
        return_outcome,
        result.route,
        result.event_id,
        extra,
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


def _write_routes(
    router: APIRouter,
    service: ControllerService,
    cfg: HotlineConfig,
    operate: Requirement,
    metrics: ApiMetrics,
) -> None:
    default_ttl = cfg.failover.override_default_ttl_s
    failover_body = failover_request_model(default_ttl, cfg.failover.override_max_ttl_s)

    def done(action: str, who: str, result: ActionResult, **details: object) -> JSONResponse:
        response = _respond(action, who, result, **details)
        metrics.action(action, _outcome(response.status_code))
        return response

    async def failover(body: FailoverBody, who: Principal = Depends(operate)) -> JSONResponse:  # noqa: B008
        """Override the decision: calls take route ``to`` until the TTL ends or a failback."""
        ttl = body.ttl_s if body.ttl_s is not None else default_ttl
        result = await service.failover(body.to, body.reason, ttl, body.force, who.name)
        return done("failover", who.name, result, to=body.to, ttl_s=ttl, force=body.force)

    # The body model is built per config (its TTL bound is the deployment's), so the annotation
    # is set here: a string annotation naming a local class could not be resolved by FastAPI.
    failover.__annotations__["body"] = failover_body
    router.add_api_route(
        "/v1/failover",
        failover,
        methods=["POST"],
        response_model=ActionResult,
        responses=_ACTION_RESPONSES,
    )

    @router.post("/v1/failback", response_model=ActionResult, responses=_ACTION_RESPONSES)
    async def failback(body: ReasonRequest, who: Principal = Depends(operate)) -> JSONResponse:  # noqa: B008
        """Clear the override; the controller decides on its own again."""
        return done("failback", who.name, await service.failback(body.reason, who.name))

    @router.post("/v1/pause", response_model=ActionResult, responses=_ACTION_RESPONSES)
    async def pause(body: PauseRequest, who: Principal = Depends(operate)) -> JSONResponse:  # noqa: B008
        """Stop automatic switching; the current route stays until resume or the TTL ends."""
        return done("pause", who.name, await service.pause(body.reason, who.name, body.ttl_s))

    @router.post("/v1/resume", response_model=ActionResult, responses=_ACTION_RESPONSES)
    async def resume(body: ReasonRequest, who: Principal = Depends(operate)) -> JSONResponse:  # noqa: B008
        """Resume automatic switching."""
        return done("resume", who.name, await service.resume(body.reason, who.name))


def _leader_routes(
    router: APIRouter, service: ControllerService, admin: Requirement, metrics: ApiMetrics
) -> None:
    responses: dict[int | str, dict[str, Any]] = {
        **_ACTION_RESPONSES,
        200: {"model": ActionResult, "description": "another node leads now (verified)"},
        409: {"model": ActionResult, "description": "nothing moved, e.g. not the leader"},
        501: {"model": ErrorBody, "description": "this controller cannot hand over"},
    }

    @router.post("/v1/leader/handover", response_model=ActionResult, responses=responses)
    async def handover(who: Principal = Depends(admin)) -> JSONResponse:  # noqa: B008
        """Give up leadership so another node takes over (e.g. before maintenance)."""
        # Looked up per request: a service built without handover() (an older implementation)
        # answers 501 instead of failing when the app is built.
        act = getattr(service, "handover", None)
        if not callable(act):
            metrics.action("handover", "unsupported")
            log.info("api_action action=handover who=%s status=501 outcome=unsupported", who.name)
            return JSONResponse(
                {"detail": "this controller cannot hand over leadership (not implemented)"},
                status_code=501,
            )
        result: ActionResult = await act(who.name)
        response = _respond("handover", who.name, result)
        metrics.action("handover", _outcome(response.status_code))
        return response


def _alerts_routes(app: FastAPI, notifier: Notifier | None, calls: CallLog | None) -> None:
    # Imported here: an API without a notifier does not load the notifier's modules.
    from controller.notifier.api import (
        build_router,
        dashboard_assets_router,
        roles_to_permissions,
    )

    require_role = roles_to_permissions(app.state.require)
    router = build_router(notifier, calls, require_role, route_class=GuardedRoute)
    app.include_router(router, responses=_AUTH_RESPONSES)
    app.include_router(dashboard_assets_router())


def create_app(
    service: ControllerService,
    config: HotlineConfig,
    *,
    notifier: Notifier | None = None,
    calls: CallLog | None = None,
    cluster: ClusterSource | None = None,
) -> FastAPI:
    """The API and dashboard for one controller node.

    ``notifier`` and ``calls`` are the daemon's ``Notifier`` and ``CallLog``; given either, the
    incidents/calls endpoints and their dashboard panels are served too (an endpoint whose part
    is missing answers 503). Without both the app is exactly the controller's API.
    """
    registry = TokenRegistry(config.api.tokens)
    metrics = ApiMetrics()
    requirements = {p: Requirement(registry, p, metrics) for p in Permission}
    read, operate = requirements[Permission.READ], requirements[Permission.OPERATE]
    admin = requirements[Permission.ADMIN]
    app = FastAPI(
        title="hotline-failover",
        version="1",
        description=(
            "Failover controller API. Bearer tokens; roles → permissions: "
            + "; ".join(f"{r}: {', '.join(p) or '-'}" for r, p in describe_roles().items())
        ),
        docs_url=None,  # the Swagger UI would load assets from a CDN; /openapi.json stays
        redoc_url=None,
        dependencies=[Depends(refuse_unknown_query)],  # on every route (controller.api.query)
    )
    app.state.service = service
    app.state.api_metrics = metrics
    # For routes added later (the demo lab, POST /v1/calls): Depends(app.state.require[perm]);
    # use APIRouter(route_class=GuardedRoute) so the check also precedes body parsing.
    app.state.require = requirements
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    _probe_routes(app, service, config)
    app.state.metrics_registry = _metrics_registry(service, config, metrics, notifier)
    _metrics_route(app, app.state.metrics_registry, None if config.api.metrics_public else read)
    router = APIRouter(route_class=GuardedRoute, tags=["v1"])
    _read_routes(router, service, config, read)
    _write_routes(router, service, config, operate, metrics)
    _leader_routes(router, service, admin, metrics)
    if cluster is not None:
        cluster_routes(router, cluster, read, _AUTH_RESPONSES)
        install_leader_proxy(app, cluster, read, peers=peer_clients(config.api.tls))
    app.include_router(router)
    app.state.notifier = notifier
    if notifier is not None or calls is not None:
        _alerts_routes(app, notifier, calls)
    app.include_router(dashboard_router())
    return app
