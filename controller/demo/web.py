"""The lab's break/restore buttons: ``GET /v1/demo`` lists them (the dashboard shows them),
``POST /v1/demo/break`` and ``/v1/demo/restore`` with ``{"component": "trunk-a"}`` act.

Tokens are checked by the API app's own auth (``controller.api.auth``), not here: listing needs
the ``read`` permission (viewer, operator, admin), pressing needs ``operate`` (operator, admin).
That is the same constant-time comparison against every configured token, the same 401/403
answers and the same refusal counters as every other endpoint, and the check runs before the body
is read. Only the demo process adds these routes (``extend_app`` of the daemon's ``serve``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict

from controller.api.auth import AppRequirement, GuardedRoute, Permission, Principal
from controller.config import HotlineConfig
from controller.demo.lab import Lab

log = logging.getLogger("hotline.demo")


class ComponentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    component: str


def demo_router(lab: Lab, cfg: HotlineConfig | None = None) -> APIRouter:
    """The demo's routes for ``lab``. ``cfg`` is accepted for existing callers and not used:
    the tokens are the app's (``app.state.require``), looked up when a request comes in."""
    read = AppRequirement(Permission.READ)
    operate = AppRequirement(Permission.OPERATE)
    router = APIRouter(tags=["demo"], route_class=GuardedRoute)

    @router.get("/v1/demo")
    async def actions(_: Principal = Depends(read)) -> dict[str, object]:  # noqa: B008
        out = []
        for name in lab.breakable:
            for verb in ("break", "restore"):
                out.append(
                    {
                        "label": f"{verb} {name}",
                        "path": f"/v1/demo/{verb}",
                        "method": "POST",
                        "body": {"component": name},
                    }
                )
        return {"actions": out}

    def act(req: ComponentRequest, answering: bool, who: Principal) -> dict[str, object]:
        try:
            message = lab.set_answering(req.component, answering)
        except KeyError as exc:
            raise HTTPException(422, str(exc.args[0])) from None
        verb = "restore" if answering else "break"
        log.info("demo_action action=%s component=%s who=%s", verb, req.component, who.name)
        return {"message": message}

    @router.post("/v1/demo/break")
    async def break_(
        req: ComponentRequest,
        who: Principal = Depends(operate),  # noqa: B008
    ) -> dict[str, object]:
        return act(req, False, who)

    @router.post("/v1/demo/restore")
    async def restore(
        req: ComponentRequest,
        who: Principal = Depends(operate),  # noqa: B008
    ) -> dict[str, object]:
        return act(req, True, who)

    return router
