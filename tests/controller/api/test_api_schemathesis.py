"""Schemathesis against the app's own OpenAPI document, in-process through ASGI.

The app is the daemon's: the controller's routes plus the alerts router, on a real ``Notifier``
and ``CallLog`` (SQLite in the test's tmp dir, one incident open). Per operation it generates
valid and invalid requests (positive and negative modes) and checks:
- with an operator token: no 5xx, responses conform to the schema, auth is really enforced
  (schemathesis' ``ignored_auth`` replays each request without and with a wrong token);
- with no token: every protected operation answers 401, whatever the body or query;
- with a viewer token: every write answers 403 (and reads never 5xx);
- with a pbx token: ``POST /v1/calls`` gets past auth (never 401/403, never 5xx) and every other
  protected operation answers 403.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from controller.api import create_app
from controller.calls.service import build_call_log
from controller.config import Role
from controller.notifier import build_notifier
from controller.notifier.signal import Severity, Signal
from logsafe import is_unsafe
from tests.support.clocks import ticking_from

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday: the instant the app starts at

EXAMPLES = 150
PUBLIC = {"/healthz", "/readyz", "/leader"}
PBX_ONLY = {("POST", "/v1/calls")}
WRITES = {
    "/v1/failover",
    "/v1/failback",
    "/v1/pause",
    "/v1/resume",
    "/v1/incidents/{incident_id}/ack",
    "/v1/callbacks/{callback_id}/close",
    "/v1/calls",
    "/v1/leader/handover",
}

_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
async def app(kit, tmp_path: Path) -> FastAPI:
    """The API with a real notifier and call log on a fresh state dir, one incident open."""
    cfg = kit.make_config()
    clock = ticking_from(T0)
    notifier = build_notifier(cfg, modem=None, state_dir=tmp_path, clock=clock)
    calls = build_call_log(
        cfg.notifier.calls, cfg.schedule.timezone, tmp_path, notifier, clock=clock
    )
    await notifier.signal(
        Signal(
            key="route",
            active=True,
            severity=Severity.CRITICAL,
            summary="primary down",
            detail="trunk-a does not answer",
            at=T0,
            route="secondary",
        )
    )
    return create_app(kit.fake(), cfg, notifier=notifier, calls=calls)


def test_the_alerts_routes_are_in_the_schema(app):
    paths = set(app.openapi()["paths"])
    assert {
        "/v1/incidents",
        "/v1/incidents/{incident_id}",
        "/v1/incidents/{incident_id}/ack",
        "/v1/calls",
        "/v1/callbacks",
        "/v1/callbacks/{callback_id}/close",
        "/v1/calls/stats",
    } <= paths


def _cases(app: FastAPI, mode: GenerationMode):
    """Cases over every operation of the app's OpenAPI (Hypothesis strategy, in-process ASGI).

    Driven with plain ``@given`` rather than schemathesis' pytest plugin, whose internals follow
    pytest's private API and break with new pytest releases.
    """
    return schemathesis.openapi.from_asgi("/openapi.json", app).as_strategy(generation_mode=mode)


MODES = pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


def _expect(case, response, code: int) -> None:
    """``code`` for the documented method; a method the route lacks may answer 405 instead.

    Schemathesis' coverage phase also sends each operation once without its ``Authorization``
    (scenario "missing parameter"), whatever the test set; such a request must get 401.
    """
    if response.request.headers.get("Authorization") is None:
        code = 401
    allowed = {code} if case.method.upper() == case.operation.method.upper() else {code, 405}
    assert response.status_code in allowed, (case.method, case.path, response.text)


def _strip_auth(case) -> None:
    if case.headers:
        for name in list(case.headers):
            if name.lower() == "authorization":
                del case.headers[name]


def _with_token(case, token: str) -> None:
    """Replace whatever Authorization the generator made (negative mode mangles it) with ours."""
    _strip_auth(case)
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = f"Bearer {token}"


@MODES
def test_operator_no_5xx_and_conformant(app, kit, mode, caplog):
    caplog.set_level(logging.DEBUG)

    @given(case=_cases(app, mode))
    @_settings
    def check(case) -> None:
        # Set on the case (so a negative case whose mangled header we replaced is revalidated as
        # valid) and passed to the call: schemathesis then knows the token is the caller's, not
        # generated, and ``ignored_auth`` replays the request without it and with a wrong one.
        _with_token(case, kit.tokens[Role.OPERATOR])
        case.call_and_validate(headers={"Authorization": f"Bearer {kit.tokens[Role.OPERATOR]}"})

    check()
    # Whatever the generator put in keys, parameters and values, no log line it caused holds a
    # raw control, separator or bidi character (issue 16: it wrote 110 forged lines this way).
    assert caplog.records
    raw = [r.getMessage() for r in caplog.records if any(map(is_unsafe, r.getMessage()))]
    assert raw == []


@MODES
def test_no_token_never_gets_past_auth(app, kit, mode):
    @given(case=_cases(app, mode))
    @_settings
    def check(case) -> None:
        _strip_auth(case)
        response = case.call()
        assert response.status_code < 500
        if case.path not in PUBLIC:
            _expect(case, response, 401)
            if response.status_code == 401:
                assert response.headers["www-authenticate"][0].startswith("Bearer")

    check()


@MODES
def test_viewer_cannot_write(app, kit, mode):
    @given(case=_cases(app, mode))
    @_settings
    def check(case) -> None:
        _with_token(case, kit.tokens[Role.VIEWER])
        response = case.call()
        assert response.status_code < 500
        if case.path in WRITES:
            _expect(case, response, 403)

    check()


@MODES
def test_pbx_token_only_posts_calls(app, kit, mode):
    @given(case=_cases(app, mode))
    @_settings
    def check(case) -> None:
        _with_token(case, kit.tokens[Role.PBX])
        response = case.call()
        assert response.status_code < 500
        if (case.method.upper(), case.path) in PBX_ONLY:
            sent = response.request.headers.get("Authorization") is not None
            assert (response.status_code not in (401, 403)) == sent, response.text
        elif case.path not in PUBLIC:
            _expect(case, response, 403)

    check()
