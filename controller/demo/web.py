"""The lab's break/restore buttons: ``GET /v1/demo`` lists them (the dashboard shows them),
``POST /v1/demo/break`` and ``/v1/demo/restore`` with ``{"component": "trunk-a"}`` act.

What the technicians receive and can answer: ``GET /v1/demo/outbox`` (the SMS the emulated modem
sent, oldest first), ``GET /v1/demo/mail`` (the lab's SMTP sink: each message's headers and text)
and ``POST /v1/demo/sms`` with ``{"text": "ACK", "from": "alice"}``: an SMS arrives at the emulated
modem from that technician's mobile (default: whoever is on call), announced as the modem's
``AT+CNMI`` asks, so the daemon reads it and hands it to the notifier like a real one.

Tokens are checked by the API app's own auth (``controller.api.auth``), not here: listing needs
the ``read`` permission (viewer, operator, admin), pressing needs ``operate`` (operator, admin).
That is the same constant-time comparison against every configured token, the same 401/403
answers and the same refusal counters as every other endpoint, and the check runs before the body
is read. Only the demo process adds these routes (``extend_app`` of the daemon's ``serve``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from controller.api.auth import AppRequirement, GuardedRoute, Permission, Principal
from controller.config import HotlineConfig
from controller.demo.lab import Lab
from logsafe import esc

log = logging.getLogger("hotline.demo")


class ComponentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    component: str


class SmsRequest(BaseModel):
    """An SMS to the hotline's SIM: ``from`` is a technician's name or an E.164 number."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    text: str = Field(min_length=1, max_length=640)
    sender: str | None = Field(default=None, alias="from", max_length=32)


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
        log.info(
            "demo_action action=%s component=%s who=%s", verb, esc(req.component, 80), who.name
        )
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

    _message_routes(router, lab, read, operate)
    return router


def _message_routes(
    router: APIRouter, lab: Lab, read: AppRequirement, operate: AppRequirement
) -> None:
    @router.get("/v1/demo/outbox")
    async def outbox(_: Principal = Depends(read)) -> dict[str, object]:  # noqa: B008
        return {"sms": lab.sent_sms()}

    @router.get("/v1/demo/mail")
    async def mail(_: Principal = Depends(read)) -> dict[str, object]:  # noqa: B008
        return {"mail": lab.mailbox()}

    @router.post("/v1/demo/sms")
    async def sms(
        req: SmsRequest,
        who: Principal = Depends(operate),  # noqa: B008
    ) -> dict[str, object]:
        try:
            sender, name = lab.sender(req.sender)
            parts = lab.receive_sms(sender, req.text)
        except (KeyError, ValueError) as exc:
            raise HTTPException(422, str(exc.args[0])) from None
        log.info("demo_action action=sms from=%s parts=%d who=%s", name, parts, who.name)
        return {"message": f"SMS from {name} ({sender}) delivered to the modem", "parts": parts}
