"""Hostile input through the API (issue 16): log forgery, tiny TTLs, unknown query parameters.

The app is the daemon's (controller routes, a real ``Notifier`` and ``CallLog`` on SQLite in the
test's tmp dir), in-process through ``httpx.ASGITransport``. A corpus of control, line-separator
and bidi strings goes in as body key names, query parameter names, call fields and paths; no
log record the requests produce may hold one of those characters raw (``logsafe.is_unsafe``),
and the forged line of the issue must stay inside the one line that reports it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from controller.api import create_app
from controller.calls.service import build_call_log
from controller.config import Role
from controller.notifier import build_notifier
from logsafe import is_unsafe
from tests.support.clocks import ticking_from

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

FORGED = "a\n2026-12-01 09:00:00,000 level=CRITICAL logger=hotline.daemon FORGED x"

# Control, line-separator and bidi strings: each must come out escaped wherever it is logged.
CORPUS = [
    FORGED,
    "cr\rreturn",
    "crlf\r\n2026-12-01 level=ERROR",
    "nul\x00byte",
    "esc\x1b[2J\x1b[31mred",
    "sub\x1aend",
    "del\x7f",
    "nel\x85line",
    "csi\x9b31m",
    "ls\u2028ps\u2029",
    "\u202e999000106024+",
    "lre\u202aple\u202c\u202d",
    "iso\u2066\u2067\u2068\u2069",
    "lrm\u200erlm\u200f",
    "bom\ufeffzw\u200b\u200d",
    "tab\there",
]


def _raw_unsafe(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if is_unsafe(c)]


@dataclass
class Lab:
    app: FastAPI
    client: httpx.AsyncClient
    kit: Any

    def auth(self, role: Role) -> dict[str, str]:
        headers: dict[str, str] = self.kit.auth(role)
        return headers


@pytest.fixture
async def lab(kit, tmp_path: Path) -> AsyncIterator[Lab]:
    cfg = kit.make_config()
    clock = ticking_from(T0)
    notifier = build_notifier(cfg, modem=None, state_dir=tmp_path, clock=clock)
    calls = build_call_log(
        cfg.notifier.calls, cfg.schedule.timezone, tmp_path, notifier, clock=clock
    )
    app = create_app(kit.fake(), cfg, notifier=notifier, calls=calls)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Lab(app, client, kit)


# ---- 1. log lines ------------------------------------------------------------------------------


async def test_a_forged_body_key_stays_inside_one_log_line(lab: Lab, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"reason": "drill", FORGED: 1}
    r = await lab.client.post("/v1/pause", json=body, headers=lab.auth(Role.OPERATOR))
    assert r.status_code == 422
    fmt = logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    text = "\n".join(fmt.format(rec) for rec in caplog.records)
    lines = text.splitlines()
    assert len(lines) == len(caplog.records)  # every record is one line
    assert [ln for ln in lines if "FORGED" in ln] == [
        ln for ln in lines if "api_rejected" in ln and "FORGED" in ln
    ]
    assert len([ln for ln in lines if "FORGED" in ln]) == 1
    assert not any(ln.startswith("2026-12-01") for ln in lines)
    assert "a\\n2026-12-01 09:00:00,000 level=CRITICAL" in text


async def test_the_corpus_leaves_no_raw_control_or_bidi_char_in_any_log_record(
    lab: Lab, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    op, pbx = lab.auth(Role.OPERATOR), lab.auth(Role.PBX)
    for i, s in enumerate(CORPUS):
        await lab.client.post("/v1/pause", json={"reason": "drill", s: 1}, headers=op)
        await lab.client.post("/v1/failover", json={"to": s, "reason": s}, headers=op)
        await lab.client.get("/v1/status", params={s: "1"}, headers=op)
        await lab.client.get("/v1/incidents", params={"state": s}, headers=op)
        await lab.client.get("/v1/" + quote(s), headers=op)
        await lab.client.post("/v1/callbacks/1/close", json={"by": s, "note": s}, headers=op)
        start = T0 - timedelta(minutes=5)
        call = {
            "call_id": f"hostile-{i}",
            "caller": s[:64],
            "agent": s[:64],
            "line": "primary",
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=30)).isoformat(),
        }
        assert (await lab.client.post("/v1/calls", json=call, headers=pbx)).status_code == 201
        await lab.client.post("/v1/calls", json={**call, "call_id": s}, headers=pbx)
        await lab.client.get("/v1/status", headers={"Authorization": "Bearer " + quote(s)})
    assert len(caplog.records) >= 5 * len(CORPUS)  # the requests did log
    found = {rec.getMessage(): _raw_unsafe(rec.getMessage()) for rec in caplog.records}
    assert {m: bad for m, bad in found.items() if bad} == {}


# ---- 4. TTL bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [1e-7, 5e-324, 0, 59.9, -1])
@pytest.mark.parametrize("path", ["/v1/failover", "/v1/pause"])
async def test_a_ttl_below_the_minimum_is_refused_at_once(lab: Lab, path: str, ttl: float) -> None:
    body: dict[str, Any] = {"reason": "drill", "ttl_s": ttl}
    if path == "/v1/failover":
        body["to"] = "secondary"
    r = await lab.client.post(path, json=body, headers=lab.auth(Role.OPERATOR))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "ttl_s"]
    assert "60" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_a_ttl_that_is_not_finite_is_refused(lab: Lab, literal: str) -> None:
    raw = '{"to": "secondary", "reason": "drill", "ttl_s": ' + literal + "}"
    r = await lab.client.post(
        "/v1/failover",
        content=raw.encode(),
        headers={**lab.auth(Role.OPERATOR), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "ttl_s"]


async def test_the_minimum_and_maximum_ttl_are_accepted(lab: Lab) -> None:
    for ttl in (60, 604800):
        body = {"to": "secondary", "reason": "drill", "ttl_s": ttl}
        r = await lab.client.post("/v1/failover", json=body, headers=lab.auth(Role.OPERATOR))
        assert r.status_code == 200, r.text
    r = await lab.client.post(
        "/v1/pause", json={"reason": "drill", "ttl_s": 60}, headers=lab.auth(Role.OPERATOR)
    )
    assert r.status_code == 200, r.text


# ---- 6. unknown query parameters ---------------------------------------------------------------

READS = ["/v1/incidents", "/v1/callbacks", "/v1/calls/stats", "/v1/status", "/v1/topology"]


@pytest.mark.parametrize("path", [*READS, "/metrics", "/v1/events", "/healthz", "/dashboard"])
async def test_an_unknown_query_parameter_is_refused_naming_it(lab: Lab, path: str) -> None:
    r = await lab.client.get(path, params={"stat": "open"}, headers=lab.auth(Role.ADMIN))
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [
        {"loc": ["query", "stat"], "msg": "unknown query parameter", "type": "extra_forbidden"}
    ]


async def test_every_route_refuses_an_unknown_query_parameter(lab: Lab) -> None:
    """Not a list kept by hand: every operation of the app's OpenAPI, whatever router added it,
    and the dashboard's pages (not in the schema)."""
    paths: dict[str, Any] = lab.app.openapi()["paths"]
    operations = [(m.upper(), p) for p, ops in paths.items() for m in ops if "{" not in p]
    operations += [("GET", "/dashboard"), ("GET", "/dashboard/alerts.js")]
    for method, path in operations:
        headers = lab.auth(Role.PBX if path == "/v1/calls" else Role.ADMIN)
        r = await lab.client.request(method, path, params={"zz_unknown": "1"}, headers=headers)
        assert r.status_code == 422, (method, path, r.status_code)
        assert ["query", "zz_unknown"] in [d["loc"] for d in r.json()["detail"]]
    assert len(operations) >= 18


async def test_the_declared_query_parameters_still_work(lab: Lab) -> None:
    admin = lab.auth(Role.ADMIN)
    for path, params in [
        ("/v1/events", {"limit": "5", "since": "2026-03-04T09:00:00Z"}),
        ("/v1/incidents", {"state": "open", "limit": "5"}),
        ("/v1/callbacks", {"include_closed": "true"}),
        ("/v1/calls/stats", {"day": "2026-03-04"}),
    ]:
        r = await lab.client.get(path, params=params, headers=admin)
        assert r.status_code == 200, (path, r.text)


async def test_the_token_is_checked_before_the_query(lab: Lab) -> None:
    for path in ["/v1/status", "/metrics", "/v1/incidents"]:
        r = await lab.client.get(path, params={"stat": "open"})
        assert r.status_code == 401, path
    r = await lab.client.get("/v1/incidents", params={"x": "1"}, headers=lab.auth(Role.PBX))
    assert r.status_code == 403


@pytest.mark.parametrize("name", CORPUS)
async def test_an_unknown_parameters_name_comes_back_escaped(lab: Lab, name: str) -> None:
    r = await lab.client.get("/v1/status", params={name: "1"}, headers=lab.auth(Role.VIEWER))
    assert r.status_code == 422
    (issue,) = r.json()["detail"]
    assert issue["loc"][0] == "query"
    assert _raw_unsafe(issue["loc"][1]) == []


# ---- 2. callers as the API presents them -------------------------------------------------------

SPOOFED_CALLERS = [
    "\u202e999000106024+",  # a browser renders it as +420601000999
    "+420601000999\x00",
    "\x1b[2J+420601000999",
    "+420601000999\x1a",
    "anonymous",
]


async def test_callbacks_present_callers_in_one_normalised_form(lab: Lab) -> None:
    pbx, viewer = lab.auth(Role.PBX), lab.auth(Role.VIEWER)
    sent: list[str | None] = [*SPOOFED_CALLERS, "+420601000999", None]
    start = T0 - timedelta(minutes=3)
    for i, raw in enumerate(sent):
        call = {
            "call_id": f"c-{i}",
            "caller": raw,
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=40)).isoformat(),
            "line": "primary",
        }
        r = await lab.client.post("/v1/calls", json=call, headers=pbx)
        assert r.status_code == 201, r.text
    r = await lab.client.get("/v1/callbacks", headers=viewer)
    by_id = {c["call_id"]: c for c in r.json()}
    assert len(by_id) == len(sent)
    for i, raw in enumerate(sent):
        view = by_id[f"c-{i}"]
        if raw == "+420601000999":
            assert (view["caller"], view["caller_display"], view["caller_raw"]) == (raw,) * 3
            continue
        assert view["caller"] is None, raw
        assert view["caller_display"] == "withheld or unknown number", raw
        assert view["caller_raw"] is None if raw is None else _raw_unsafe(view["caller_raw"]) == []
    assert by_id["c-0"]["caller_raw"] == "\\u202e999000106024+"
    assert _raw_unsafe(r.text) == [] and "\\u0000" not in r.text and "\\u001b" not in r.text


@pytest.mark.parametrize("field", ["by", "note"])
@pytest.mark.parametrize("text", ["\u202eevil", "two\nlines", "nul\x00", "esc\x1b[2J"], ids=repr)
async def test_closing_a_callback_refuses_control_and_bidi_text(
    lab: Lab, field: str, text: str
) -> None:
    start = T0 - timedelta(minutes=3)
    call = {
        "call_id": "c-close",
        "caller": "+420601000999",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=40)).isoformat(),
        "line": "primary",
    }
    assert (await lab.client.post("/v1/calls", json=call, headers=lab.auth(Role.PBX))).is_success
    (cb,) = (await lab.client.get("/v1/callbacks", headers=lab.auth(Role.VIEWER))).json()
    op = lab.auth(Role.OPERATOR)
    r = await lab.client.post(f"/v1/callbacks/{cb['id']}/close", json={field: text}, headers=op)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field]
    r = await lab.client.post(
        f"/v1/callbacks/{cb['id']}/close", json={field: "Jana — called back"}, headers=op
    )
    assert r.status_code == 200, r.text
