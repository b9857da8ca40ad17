"""Bearer tokens and roles for the HTTP API.

Tokens come from ``cfg.api.tokens``. A presented token is hashed and compared with
``hmac.compare_digest`` against the hash of *every* configured token, without stopping at the first
match: comparing fixed-length digests hides the tokens' lengths, and visiting all of them hides
which one matched. Tokens are never logged, never echoed in a response, never kept in an exception.

Authentication runs *before* FastAPI reads the request body (see ``GuardedRoute``): without a valid
token a client learns nothing, not even whether its JSON would have been accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.metrics import ApiMetrics
from controller.config import ApiToken, Role

log = logging.getLogger("hotline.api")


class Permission(StrEnum):
    READ = "read"  # status, events, metrics
    OPERATE = "operate"  # failover, failback, pause, resume
    CALLS = "calls"  # post call events (POST /v1/calls, the PBX's hook)
    ADMIN = "admin"  # leadership and configuration actions (later issues)


# Call events are the PBX's record of what happened: only the PBX's token posts them (an admin is
# a person, and a hand-made call would skew the statistics and the callback list), and the PBX's
# token may do nothing else.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.OPERATE}),
    Role.ADMIN: frozenset(Permission) - {Permission.CALLS},
    Role.PBX: frozenset({Permission.CALLS}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called: the token's *name* (used as ``who`` in the audit) and its role."""

    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


def _digest(token: str) -> bytes:
    # Starlette decodes header bytes as latin-1; surrogateescape keeps odd input from raising.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class TokenRegistry:
    """The configured tokens, kept only as SHA-256 digests next to their principal."""

    def __init__(self, tokens: Iterable[ApiToken]) -> None:
        self._entries = tuple(
            (_digest(t.token.get_secret_value()), Principal(t.name, t.role)) for t in tokens
        )

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, presented: str) -> Principal | None:
        digest = _digest(presented)
        found: Principal | None = None
        for known, principal in self._entries:  # no early exit: every token is compared
            if hmac.compare_digest(digest, known):
                found = principal
        return found


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token from the config (api.tokens); its role decides what it may do.",
)


def _unauthorized(detail: str, error: str | None) -> HTTPException:
    challenge = 'Bearer realm="hotline"' + (f', error="{error}"' if error else "")
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})


class Requirement:
    """A FastAPI dependency: the caller must hold a token whose role grants ``permission``.

    Returns the ``Principal``. The result is cached on the request so that the early check made
    by ``GuardedRoute`` and the dependency itself count one attempt, not two.
    """

    def __init__(self, registry: TokenRegistry, permission: Permission, metrics: ApiMetrics):
        self.registry = registry
        self.permission = permission
        self.metrics = metrics

    def check(self, request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal) and cached.may(self.permission):
            return cached
        where = f"{request.method} {request.url.path}"
        client = request.client.host if request.client else "-"
        token = bearer_token(request)
        if token is None:
            self.metrics.auth_failure("missing")
            log.info("api_auth_failed reason=missing request=%r client=%s", where, client)
            raise _unauthorized("missing bearer token", None)
        principal = self.registry.authenticate(token)
        if principal is None:
            self.metrics.auth_failure("invalid")
            log.warning("api_auth_failed reason=invalid request=%r client=%s", where, client)
            raise _unauthorized("invalid bearer token", "invalid_token")
        if not principal.may(self.permission):
            self.metrics.auth_failure("forbidden")
            log.warning(
                "api_forbidden who=%s role=%s needs=%s request=%r client=%s",
                principal.name,
                principal.role,
                self.permission,
                where,
                client,
            )
            raise HTTPException(
                status_code=403,
                detail=f"role {principal.role.value!r} may not {self.permission.value}",
            )
        request.state.principal = principal
        return principal

    async def __call__(
        self,
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),  # noqa: B008
    ) -> Principal:
        return self.check(request)


class AppRequirement:
    """The app's own ``Requirement`` for ``permission``, looked up on the request's app.

    For routers built before the app exists (the demo lab's, added by ``extend_app``): the check
    is exactly the app's (same tokens, roles, constant-time compare and counters), found at
    request time in ``request.app.state.require``. An app without it refuses (500), never allows.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def check(self, request: Request) -> Principal:
        require = getattr(request.app.state, "require", None)
        if not require or self.permission not in require:
            raise RuntimeError("this app has no token check; mount the router on create_app()'s")
        requirement: Requirement = require[self.permission]
        return requirement.check(request)

    async def __call__(
        self,
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),  # noqa: B008
    ) -> Principal:
        return self.check(request)


def _requirements(route: APIRoute) -> list[Requirement | AppRequirement]:
    found: list[Requirement | AppRequirement] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, Requirement | AppRequirement):
            found.append(dep.call)
        pending.extend(dep.dependencies)
    return found


class GuardedRoute(APIRoute):
    """An APIRoute that enforces its ``Requirement`` before the body is read or validated.

    FastAPI parses the JSON body before it resolves dependencies, so a plain dependency would
    answer 422 to an anonymous client that sends broken JSON; this route answers 401/403 first.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        requirements = _requirements(self)
        if not requirements:
            return inner

        async def guarded(request: Request) -> Response:
            for requirement in requirements:
                requirement.check(request)
            return await inner(request)

        return guarded


def describe_roles() -> dict[str, Any]:
    """Role → permissions, for the OpenAPI description."""
    return {role.value: sorted(p.value for p in GRANTS[role]) for role in Role}
