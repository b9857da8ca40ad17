"""The ``kamailio`` actuator: dispatcher gateway states over JSON-RPC (jsonrpcs over xhttp).

``dispatcher.set_state`` makes the route's gateways active ("a") and the other configured gateways
inactive ("i"); ``dispatcher.list`` reads the states back. Destination flags in the list start with
A (active), I (inactive), D (disabled) or T (trying), optionally followed by P (probing).
"""

from __future__ import annotations

import httpx

from controller.config.actuators import KamailioActuatorSettings
from controller.loop.actuators.base import ActuationError, RouteTarget, Verification


class KamailioActuator:
    can_read_back = True

    def __init__(
        self, settings: KamailioActuatorSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.name = settings.label
        self._client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self._id = 0

    def wanted(self, target: RouteTarget) -> dict[str, str]:
        """Gateway URI → wanted state letter; empty when the route is not configured here."""
        by_route = {str(name): uris for name, uris in self.settings.gateways.items()}
        active = by_route.get(str(target.route))
        if active is None:
            return {}
        every = {uri for uris in self.settings.gateways.values() for uri in uris}
        return {uri: ("a" if uri in active else "i") for uri in sorted(every)}

    async def _rpc(self, method: str, params: list[object]) -> object:
        """The JSON-RPC call's ``result`` (a JSON value)."""
        self._id += 1
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": self._id}
        try:
            resp = await self._client.post(self.settings.url, json=body)
        except httpx.HTTPError as exc:
            raise ActuationError(f"{method} at {self.settings.url}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise ActuationError(f"{method}: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise ActuationError(f"{method}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise ActuationError(f"{method}: unexpected answer")
        if "error" in data:
            err = data["error"] if isinstance(data["error"], dict) else {}
            raise ActuationError(f"{method}: error {err.get('code')} {err.get('message', '')}")
        return data.get("result")

    async def states(self) -> dict[str, str]:
        """URI → flags for every destination of the configured set."""
        result = await self._rpc("dispatcher.list", [])
        out: dict[str, str] = {}
        records = (result or {}).get("RECORDS", []) if isinstance(result, dict) else []
        for rec in records:
            dset = rec.get("SET", {}) if isinstance(rec, dict) else {}
            if dset.get("ID") != self.settings.set_id:
                continue
            for tgt in dset.get("TARGETS", []):
                dest = tgt.get("DEST", {}) if isinstance(tgt, dict) else {}
                if "URI" in dest:
                    out[str(dest["URI"])] = str(dest.get("FLAGS", ""))
        return out

    async def apply(self, target: RouteTarget) -> None:
        wanted = self.wanted(target)
        if not wanted:
            return
        current = await self.states()
        # Activate first, then deactivate, so the set never has no active gateway in between.
        for letter in ("a", "i"):
            for uri, want in wanted.items():
                if want == letter and current.get(uri, "")[:1].lower() != letter:
                    await self._rpc("dispatcher.set_state", [letter, self.settings.set_id, uri])

    async def verify(self, target: RouteTarget) -> Verification:
        wanted = self.wanted(target)
        if not wanted:
            return Verification(True, f"no gateways configured for {target.route}")
        current = await self.states()
        wrong = [
            f"{uri}={current.get(uri, 'missing')}"
            for uri, want in wanted.items()
            if current.get(uri, "")[:1].lower() != want
        ]
        if wrong:
            return Verification(False, "gateway states differ: " + ", ".join(wrong))
        active = [uri for uri, want in wanted.items() if want == "a"]
        return Verification(True, "active: " + ", ".join(active))

    async def close(self) -> None:
        await self._client.aclose()
