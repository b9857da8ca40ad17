"""``GET /v1/events`` as the cluster's log: every member's own log, merged by time.

Each node writes its own event log (SQLite): the leader its decisions and switches, a node that
led before the ones of its terms. So that a hand-over does not cut the history in two, a read of
``/v1/events`` on any node asks every live member (the API address in its member record, with
the caller's token and ``X-Hotline-Local: 1``) for the same window, and merges the answers by
time; each event carries the ``node`` that wrote it (ids are per node). ``since`` keeps its
meaning (the first ``limit`` events after it), without it the last ``limit``. Members that do not
answer within the timeout are named in ``X-Hotline-Missing`` and the answer is built from the
others; ``X-Hotline-Served-By`` names those that answered. This node's own log is read directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from controller.service.contract import ClusterReport, EventRecord
from logsafe import esc

log = logging.getLogger("hotline.api")

LOCAL_HEADER = "X-Hotline-Local"
MISSING = "X-Hotline-Missing"
SERVED_BY = "X-Hotline-Served-By"


@runtime_checkable
class EventsSource(Protocol):
    def cluster(self) -> ClusterReport: ...

    def events(self, since: datetime | None, limit: int) -> list[EventRecord]: ...


def window(request: Request, most: int) -> tuple[datetime | None, int] | None:
    """``since`` and ``limit`` of the request; None when they are not valid (the route then
    answers its 422, naming the field)."""
    q = request.query_params
    if set(q) - {"since", "limit"}:
        return None
    try:
        limit = int(q.get("limit", "100"))
        since = datetime.fromisoformat(q["since"]) if "since" in q else None
    except ValueError:
        return None
    if not 1 <= limit <= most:
        return None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since, limit


async def _member(
    client: httpx.AsyncClient, url: str, request: Request
) -> list[dict[str, Any]] | None:
    headers = {"Authorization": request.headers.get("authorization", ""), LOCAL_HEADER: "1"}
    try:
        answer = await client.get(url + "/v1/events", params=request.query_params, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("api_events_member_failed url=%s error=%s", esc(url), type(exc).__name__)
        return None
    if answer.status_code != 200:
        log.warning("api_events_member_failed url=%s status=%s", esc(url), answer.status_code)
        return None
    body = answer.json()
    return body if isinstance(body, list) else None


def _order(e: dict[str, Any]) -> tuple[datetime, str, int]:
    at = datetime.fromisoformat(str(e.get("at")))
    return (at if at.tzinfo else at.replace(tzinfo=UTC), str(e.get("node")), int(e.get("id", 0)))


async def merged_events(
    request: Request,
    source: EventsSource,
    most: int,
    peers: Callable[[float], httpx.AsyncClient],
    timeout_s: float,
) -> Response | None:
    """The merged answer, or None where this node answers alone (no other member known)."""
    found = window(request, most)
    if found is None:
        return None
    since, limit = found
    report = source.cluster()
    others = [m for m in report.members if m.node != report.node and m.api]
    if not others:
        return None
    async with peers(timeout_s) as client:
        answers = await asyncio.gather(*(_member(client, str(m.api), request) for m in others))
    events = [
        {**e.model_dump(mode="json"), "node": report.node} for e in source.events(since, limit)
    ]
    served, missing = [report.node], []
    for m, got in zip(others, answers, strict=True):
        if got is None:
            missing.append(m.node)
            continue
        served.append(m.node)
        events.extend({**e, "node": m.node} for e in got)
    events.sort(key=_order)
    events = events[:limit] if since is not None else events[-limit:]
    headers = {SERVED_BY: ",".join(served)}
    if missing:
        headers[MISSING] = ",".join(missing)
    return JSONResponse(events, headers=headers)
