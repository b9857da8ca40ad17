"""Schemathesis against the app's own OpenAPI document, in-process through ASGI.

Per operation it generates valid and invalid requests (positive and negative modes) and checks:
- with an operator token: no 5xx, responses conform to the schema, auth is really enforced
  (schemathesis' ``ignored_auth`` replays each request without and with a wrong token);
- with no token: every protected operation answers 401, whatever the body or query;
- with a viewer token: every write answers 403 (and reads never 5xx);
- with a pbx token: every protected operation answers 403.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from controller.api import create_app
from controller.config import Role

EXAMPLES = 150
PUBLIC = {"/healthz", "/readyz", "/leader"}
WRITES = {"/v1/failover", "/v1/failback", "/v1/pause", "/v1/resume"}

_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _cases(kit, mode: GenerationMode):
    """Cases over every operation of the app's OpenAPI (Hypothesis strategy, in-process ASGI).

    Driven with plain ``@given`` rather than schemathesis' pytest plugin, whose internals follow
    pytest's private API and break with new pytest releases.
    """
    app = create_app(kit.fake(), kit.make_config())
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
def test_operator_no_5xx_and_conformant(kit, mode):
    @given(case=_cases(kit, mode))
    @_settings
    def check(case) -> None:
        _with_token(case, kit.tokens[Role.OPERATOR])
        case.call_and_validate()

    check()


@MODES
def test_no_token_never_gets_past_auth(kit, mode):
    @given(case=_cases(kit, mode))
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
def test_viewer_cannot_write(kit, mode):
    @given(case=_cases(kit, mode))
    @_settings
    def check(case) -> None:
        _with_token(case, kit.tokens[Role.VIEWER])
        response = case.call()
        assert response.status_code < 500
        if case.path in WRITES:
            _expect(case, response, 403)

    check()


@MODES
def test_pbx_token_reads_and_writes_nothing(kit, mode):
    @given(case=_cases(kit, mode))
    @_settings
    def check(case) -> None:
        _with_token(case, kit.tokens[Role.PBX])
        response = case.call()
        assert response.status_code < 500
        if case.path not in PUBLIC:
            _expect(case, response, 403)

    check()
