"""Cluster reads: ``GET /v1/cluster`` and a follower's reads of the leader's logs.

``/v1/cluster`` (``read``) lists every live member as this node reads the member records: role,
may-actuate, epoch, session, last seen, who holds the modem (``hotline cluster`` shows it).

The event log, the incidents, the calls and the callback list are kept by the node that acts
(its loop and notifier write them). On a node that may not actuate, a ``GET`` of ``/v1/events``,
``/v1/incidents…``, ``/v1/calls…`` or ``/v1/callbacks…`` is answered by the leader: this node
checks the token first (a bad one gets its 401/403 here), then forwards the request, with the
caller's own token, to the API address the leader publishes in its member record, and returns
its answer with ``X-Hotline-Served-By: <leader>``. When no node may actuate, or the leader does
not answer within ``PROXY_TIMEOUT_S``, the answer is **503** with the reason; this node's own
(possibly outdated) copy stays readable with the request header ``X-Hotline-Local: 1``, which
is also what a forwarded request carries, so two nodes never forward to each other in a loop.

The event log is read as the cluster's: every member's own log merged by time, each event naming
its ``node`` (``cluster_events.py``), so a hand-over does not cut the history in two; with no
other member known, it is read as the other logs are.

Writes to those logs go to the leader the same way, so that no node keeps a record the cluster
cannot see: a PBX's ``POST /v1/calls``, an operator's ``POST /v1/incidents/{id}/ack`` and
``POST /v1/callbacks/{id}/close`` sent to a follower are forwarded with their body and token
(a request with no valid token is answered here: 401). When no node may actuate, or the leader
does not answer, a call event is recorded by this node (a call is never dropped; it shows in
this node's own copy, read with ``X-Hotline-Local: 1``), and an
acknowledgement or a close is refused with 503 and the reason, since the incidents and the
callback list it would change are the leader's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from controller.api.auth import Principal, Requirement, bearer_token
from controller.api.cluster_events import LOCAL_HEADER, SERVED_BY, EventsSource, merged_events
from controller.api.peers import PeerClient, plain_peers
from controller.service.contract import ClusterReport
from logsafe import esc

log = logging.getLogger("hotline.api")

PROXIED = ("/v1/events", "/v1/incidents", "/v1/calls", "/v1/callbacks")
PROXY_TIMEOUT_S = 5.0
EVENTS_MOST = 1000  # as the route's own bound (controller.api.app.EVENTS_MAX)
CALLS = re.compile(r"^/v1/calls$")
WRITES = re.compile(r"^/v1/(calls|incidents/\d+/ack|callbacks/\d+/close)$")


@runtime_checkable
class ClusterSource(Protocol):
    def is_leader(self) -> bool:
        """May actuate now."""
        ...

    def cluster(self) -> ClusterReport: ...

    def leader_api(self) -> tuple[str | None, str | None]:
        """(node, API URL) of the node that may actuate when it is another one."""
        ...


def cluster_routes(
    router: APIRouter, source: ClusterSource, read: Requirement, responses: dict[int | str, Any]
) -> None:
    @router.get("/v1/cluster", response_model=ClusterReport, responses=responses)
    async def cluster(_: Principal = Depends(read)) -> ClusterReport:  # noqa: B008
        """Members, role, may-actuate, epoch, session, last seen, who holds the modem."""
        return source.cluster()


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "2"})


def install_leader_proxy(
    app: FastAPI,
    source: ClusterSource,
    read: Requirement,
    timeout_s: float = PROXY_TIMEOUT_S,
    peers: PeerClient = plain_peers,
) -> None:
    """See the module docstring."""

    @app.middleware("http")
    async def leader_reads(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if request.headers.get(LOCAL_HEADER):
            return await call_next(request)
        if request.method == "GET" and path == "/v1/events" and isinstance(source, EventsSource):
            try:
                read.check(request)
            except HTTPException:
                return await call_next(request)  # the route itself answers 401/403
            merged = await merged_events(request, source, EVENTS_MOST, peers, timeout_s)
            if merged is not None:
                return merged  # else: no other member known, as any other read below
        if source.is_leader():
            return await call_next(request)
        if request.method == "POST" and WRITES.match(path):
            return await _forward_write(request, call_next, source, read, peers, timeout_s)
        if request.method != "GET" or not path.startswith(PROXIED):
            return await call_next(request)
        try:
            read.check(request)
        except HTTPException:
            return await call_next(request)  # the route itself answers 401/403
        return await forward(request, source, peers, timeout_s)


async def _forward_write(
    request: Request,
    call_next: Callable[[Request], Awaitable[Response]],
    source: ClusterSource,
    read: Requirement,
    peers: PeerClient,
    timeout_s: float,
) -> Response:
    """A write to the leader's logs, sent to a follower (module docstring)."""
    token = bearer_token(request)
    if token is None or read.registry.authenticate(token) is None:
        return await call_next(request)  # the route answers 401 (and counts the failure)
    answer = await forward(request, source, peers, timeout_s)
    if answer.status_code != 503 or SERVED_BY in answer.headers:
        return answer
    if CALLS.match(request.url.path):
        log.warning("api_call_recorded_locally reason=no_leader_reachable")
        return await call_next(request)  # never drop a call event: keep it here
    return answer


async def forward(
    request: Request, source: ClusterSource, peers: PeerClient, timeout_s: float
) -> Response:
    """``request`` answered by the leader, reached with a client from ``peers``."""
    node, url = source.leader_api()
    local = f"this node's own copy is not the cluster's; send {LOCAL_HEADER}: 1 to read it"
    if url is None:
        return _unavailable(f"no node may actuate right now, so nobody holds the log; {local}")
    headers = {"Authorization": request.headers.get("authorization", ""), LOCAL_HEADER: "1"}
    body = None
    if request.method != "GET":
        body = await request.body()
        headers["Content-Type"] = request.headers.get("content-type", "application/json")
    try:
        async with peers(timeout_s) as client:
            answer = await client.request(
                request.method,
                url + request.url.path,
                params=request.query_params,
                headers=headers,
                content=body,
            )
    except httpx.HTTPError as exc:
        log.warning("api_proxy_failed leader=%s error=%s", esc(node), type(exc).__name__)
        why = type(exc).__name__
        return _unavailable(f"the leader {node} ({url}) did not answer: {why}; {local}")
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
        headers={SERVED_BY: str(node)},
    )
