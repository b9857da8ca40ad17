"""The ``http`` actuator: a webhook to a PBX or a provider API.

Header values may be tokens, so they are ``SecretStr`` in the config and never logged; errors name
the URL and status only. A 2xx from ``expect_status`` is the verification (a webhook has no
read-back).
"""

from __future__ import annotations

import json
from string import Template

import httpx

from controller.config.actuators import HttpActuatorSettings
from controller.loop.actuators.base import ActuationError, RouteTarget, Verification


def _json_str(value: str) -> str:
    return json.dumps(value)[1:-1]


def render_body(template: str | None, target: RouteTarget) -> str:
    values = {
        "route": str(target.route),
        "number": target.number,
        "reason": target.reason,
        "epoch": str(target.epoch),
    }
    if template is None:
        return json.dumps({**values, "epoch": target.epoch})
    return Template(template).safe_substitute({k: _json_str(v) for k, v in values.items()})


class HttpActuator:
    can_read_back = False

    def __init__(self, settings: HttpActuatorSettings, client: httpx.AsyncClient | None = None):
        self.settings = settings
        self.name = settings.label
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._last: tuple[str, str] | None = None

    async def apply(self, target: RouteTarget) -> None:
        s = self.settings
        headers = {k: v.get_secret_value() for k, v in s.headers.items()}
        headers.setdefault("Content-Type", "application/json")
        try:
            resp = await self._client.request(
                s.method, s.url, content=render_body(s.body, target), headers=headers
            )
        except httpx.HTTPError as exc:
            raise ActuationError(f"{s.method} {s.url}: {type(exc).__name__}") from None
        if resp.status_code not in s.expect_status:
            raise ActuationError(f"{s.method} {s.url}: HTTP {resp.status_code}")
        self._last = (str(target.route), target.number)

    async def verify(self, target: RouteTarget) -> Verification:
        ok = self._last == (str(target.route), target.number)
        return Verification(ok, "webhook accepted" if ok else "not sent for this route yet")

    async def close(self) -> None:
        await self._client.aclose()
