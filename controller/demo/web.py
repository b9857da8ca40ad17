"""The lab's break/restore buttons: ``GET /v1/demo`` lists them (the dashboard shows them),
``POST /v1/demo/break`` and ``/v1/demo/restore`` with ``{"component": "trunk-a"}`` act. Only an
operator or admin token of the lab config may press them; only the demo process adds these routes.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, ConfigDict

from controller.config import HotlineConfig, Role
from controller.demo.lab import Lab


class ComponentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    component: str


def _check(cfg: HotlineConfig, authorization: str | None, operate: bool) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    allowed = {Role.OPERATOR, Role.ADMIN} if operate else set(Role)
    for t in cfg.api.tokens:
        if scheme.lower() == "bearer" and hmac.compare_digest(
            t.token.get_secret_value().encode(), token.encode()
        ):
            if t.role in allowed:
                return
            raise HTTPException(403, "this token's role may not break the lab")
    raise HTTPException(401, "a bearer token is needed", headers={"WWW-Authenticate": "Bearer"})


def demo_router(lab: Lab, cfg: HotlineConfig) -> APIRouter:
    router = APIRouter(tags=["demo"])

    @router.get("/v1/demo")
    async def actions(authorization: str | None = Header(default=None)) -> dict[str, Any]:
        _check(cfg, authorization, operate=False)
        out = []
        for name in lab.breakable:
            for verb in ("break", "restore"):
                out.append({"label": f"{verb} {name}", "path": f"/v1/demo/{verb}",
                            "method": "POST", "body": {"component": name}})
        return {"actions": out}

    async def act(req: ComponentRequest, authorization: str | None, answering: bool) -> Any:
        _check(cfg, authorization, operate=True)
        try:
            return {"message": lab.set_answering(req.component, answering)}
        except KeyError as exc:
            raise HTTPException(422, str(exc.args[0])) from None

    @router.post("/v1/demo/break")
    async def break_(
        req: ComponentRequest, authorization: str | None = Header(default=None)
    ) -> dict[str, Any]:
        result: dict[str, Any] = await act(req, authorization, False)
        return result

    @router.post("/v1/demo/restore")
    async def restore(
        req: ComponentRequest, authorization: str | None = Header(default=None)
    ) -> dict[str, Any]:
        result: dict[str, Any] = await act(req, authorization, True)
        return result

    return router
