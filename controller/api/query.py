"""Unknown query parameters are refused, on every route, by one app-wide dependency.

A typo (``/v1/incidents?stat=open``, ``/v1/events?limt=5``) must not be silently ignored: the
client would read an unfiltered answer as a filtered one. ``refuse_unknown_query`` is installed
as a dependency of the whole app (``FastAPI(dependencies=...)``), so every route, those of
routers included later too, gets it. It reads the parameters a route declares from the route's
own dependency tree (a plain ``Query`` parameter or a pydantic model of them), so nothing is
listed twice, and answers 422 naming each unknown parameter (escaped: the name is client text).

Authentication comes first: the route's own token check runs before this one (its result is
cached on the request, so the attempt is counted once), and a client without a valid token
learns nothing about the parameters, as with a body (``controller.api.auth.GuardedRoute``).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

from controller.api.auth import AppRequirement, Requirement
from logsafe import esc

NAME_LIMIT = 64
"""An unknown parameter's name is quoted (escaped) up to this many characters."""


def _declared(dependant: Dependant) -> frozenset[str]:
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)


_Facts = tuple[frozenset[str], tuple[Requirement | AppRequirement, ...]]
_FACTS = "_hotline_query_facts"  # kept on the route: computed once (a route is not hashable)


def _route_facts(route: APIRoute) -> _Facts:
    known: _Facts | None = getattr(route, _FACTS, None)
    if known is not None:
        return known
    requirements: list[Requirement | AppRequirement] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, Requirement | AppRequirement):
            requirements.append(dep.call)
        pending.extend(dep.dependencies)
    facts = (_declared(route.dependant), tuple(requirements))
    setattr(route, _FACTS, facts)
    return facts


async def refuse_unknown_query(request: Request) -> None:
    """Answer 422 if the request has a query parameter its route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    declared, requirements = _route_facts(route)
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in declared]
    if not unknown:
        return
    for requirement in requirements:
        requirement.check(request)
    raise RequestValidationError(
        [
            {
                "loc": ("query", esc(name, NAME_LIMIT)),
                "msg": "unknown query parameter",
                "type": "extra_forbidden",
            }
            for name in unknown
        ]
    )
