"""The dashboard in a real headless Chromium, driven over the Chrome DevTools protocol.

The app (with the fake controller service) is served by uvicorn on 127.0.0.1 at a free port; the
browser loads /dashboard on a phone-sized viewport, the test types a token, and then checks what a
person would see: the active route highlighted in the call-path picture, each component's state
and latency, the events timeline, and that the failover button reaches the controller with the
token's name. With the daemon's notifier and call log mounted (real ones, SQLite in the test's
tmp dir), the incidents, callbacks and call-statistics panels render, and their buttons
acknowledge the incident and close the callback as the token. A screenshot is written to the
test's tmp dir (and to $DASHBOARD_SCREENSHOT_DIR if set) so a person can look at it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import APIRouter

from controller.api import create_app
from controller.calls.model import CallEvent
from controller.calls.service import CallLog, build_call_log
from controller.config import Role, Route
from controller.notifier import build_notifier
from controller.notifier.service import Notifier
from controller.notifier.signal import Severity, Signal
from tests.support.browser import DESKTOP, PHONE, Cdp, chromium, serve

pytestmark = pytest.mark.slow


def _demo_router(pressed: list[dict[str, Any]]) -> APIRouter:
    """Stands in for the demo lab's routes: one button, recorded when pressed."""
    router = APIRouter()

    @router.get("/v1/demo")
    async def actions() -> dict[str, Any]:
        return {
            "actions": [
                {
                    "label": "break trunk-b",
                    "path": "/v1/demo/break",
                    "method": "POST",
                    "body": {"component": "trunk-b"},
                },
                {"label": "off-site", "path": "https://example.invalid/x", "method": "POST"},
            ]
        }

    @router.post("/v1/demo/break")
    async def press(body: dict[str, Any]) -> dict[str, str]:
        pressed.append(body)
        return {"message": "trunk-b stops answering"}

    return router


@pytest.fixture
def served(kit) -> Iterator[tuple[str, Any]]:
    service = kit.fake()
    with serve(create_app(service, kit.make_config())) as served:
        yield served.base, service


@pytest.fixture
def served_demo(kit) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    pressed: list[dict[str, Any]] = []
    app = create_app(kit.fake(), kit.make_config())
    app.include_router(_demo_router(pressed))
    with serve(app) as served:
        yield served.base, pressed


YESTERDAY = timedelta(days=1)


async def _seed(notifier: Notifier, calls: CallLog) -> None:
    """One open incident and one missed call (so one callback), both a moment ago; and an
    answered call a day earlier (for the statistics of another day)."""
    now = datetime.now(UTC)
    await calls.record(
        CallEvent(
            call_id="pbx-1-0000",
            caller="+420601000888",
            start=now - YESTERDAY,
            answer=now - YESTERDAY + timedelta(seconds=5),
            end=now - YESTERDAY + timedelta(seconds=65),
            line="secondary",
        )
    )
    await notifier.signal(
        Signal(
            key="route",
            active=True,
            severity=Severity.CRITICAL,
            summary="primary down; calls go to secondary",
            detail="trunk-a does not answer",
            at=now - timedelta(seconds=40),
            route="secondary",
        )
    )
    await calls.record(
        CallEvent(
            call_id="pbx-1-0001",
            caller="+420601000999",
            start=now - timedelta(seconds=30),
            end=now - timedelta(seconds=10),
            line="primary",
        )
    )


@pytest.fixture
def served_alerts(kit, tmp_path: Path) -> Iterator[tuple[str, Notifier, CallLog]]:
    cfg = kit.make_config()
    state = tmp_path / "state"
    state.mkdir()
    notifier = build_notifier(cfg, modem=None, state_dir=state)
    calls = build_call_log(cfg.notifier.calls, cfg.schedule.timezone, state, notifier)
    asyncio.run(_seed(notifier, calls))
    with serve(create_app(kit.fake(), cfg, notifier=notifier, calls=calls)) as served:
        yield served.base, notifier, calls


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Cdp]:
    with chromium(tmp_path / "profile") as cdp:
        yield cdp


def _sign_in(cdp: Cdp, base: str, token: str) -> None:
    cdp.sign_in(base, token)


def _screenshot(cdp: Cdp, path: Path) -> None:
    cdp.screenshot(path.parent, path.name)


def test_dashboard_shows_the_call_path_components_and_events(served, browser, kit, tmp_path):
    base, _service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cls = "document.getElementById('{}').classList.contains('{}')"
    assert cdp.js(cls.format("target-secondary", "active"))
    assert cdp.js(cls.format("edge-secondary", "active"))
    assert not cdp.js(cls.format("target-primary", "active"))
    assert not cdp.js(cls.format("target-oncall", "active"))
    assert cdp.js(cls.format("target-primary", "down")), "trunk-a is down, primary needs it"
    assert not cdp.js(cls.format("target-secondary", "down"))
    assert cdp.js("document.getElementById('number-secondary').textContent") == "+420212000002"
    assert cdp.js("document.getElementById('hotline-number').textContent") == "+420601000100"
    summary = cdp.js("document.getElementById('route-summary').textContent")
    assert summary == (
        "Calls go to the secondary line (+420212000002) since 2026-11-25 09:00:00 UTC — verified"
    )
    assert cdp.js("document.getElementById('mode').textContent") == "Manual override"
    banners = cdp.js("document.getElementById('banners').textContent")
    assert "Manual override → the secondary line by ops until 2026-11-25 09:30:00 UTC" in banners
    assert "trunk A maintenance" in banners
    rows = cdp.js(
        "[...document.querySelectorAll('#components-body tr')].map(r => [r.dataset.component,"
        " r.className, r.querySelector('.latency').textContent])"
    )
    assert rows == [
        ["trunk-a", "component down", "—"],
        ["trunk-b", "component up", "12.5 ms"],
        ["pbx-1", "component up", "3.3 ms"],
        ["modem", "component unknown", "—"],
        ["pbx", "component up cluster", "—"],  # pbx-2 unknown, pbx-1 up: quorum 1 holds
    ]
    events = cdp.js("[...document.querySelectorAll('#events-list li')].map(l => l.dataset.eventId)")
    assert events == ["3", "2", "1"], "newest first"
    width = cdp.js("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    assert cdp.js("document.getElementById('demo').hidden"), "no demo lab on this app"
    assert cdp.js("document.getElementById('alerts-incidents') === null"), "no notifier here"
    _screenshot(cdp, tmp_path / "dashboard-phone.png")
    cdp.viewport(DESKTOP)
    cdp.wait_for("document.getElementById('events').getBoundingClientRect().width > 1000")
    _screenshot(cdp, tmp_path / "dashboard-desktop.png")


def test_failover_button_reaches_the_controller_as_the_token(served, browser, kit):
    base, service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cdp.js("document.getElementById('action-to').value = 'oncall'")
    cdp.type_into("#action-reason", "drill: total outage")
    cdp.type_into("#action-ttl", "10")
    cdp.click("#btn-failover")
    cdp.wait_for("document.getElementById('confirm').open")
    question = cdp.text("confirm-text")
    assert "Forward the hotline +420601000100 to the on-call mobile for 10 min?" in question
    assert "(alice is on call)" in question
    cdp.click("#confirm-cancel")
    cdp.wait_for("document.getElementById('action-result').dataset.status === 'cancelled'")
    assert not cdp.js("document.getElementById('confirm').open")
    assert not [c for c in service.calls if c[0] == "failover"], "cancelled: nothing is sent"
    cdp.click("#btn-failover")
    cdp.wait_for("document.getElementById('confirm').open")
    cdp.click("#confirm-ok")
    cdp.wait_for("document.getElementById('action-result').dataset.status === '200'")
    assert [c for c in service.calls if c[0] != "events"] == [
        (
            "failover",
            {
                "to": Route.ONCALL,
                "reason": "drill: total outage",
                "ttl_s": 600.0,
                "force": False,
                "who": kit.names[Role.OPERATOR],
            },
        )
    ]
    assert "done" in cdp.js("document.getElementById('action-result').textContent")


def test_a_forced_failover_asks_first(served, browser, kit):
    base, service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cdp.js("document.getElementById('action-to').value = 'primary'")
    cdp.type_into("#action-reason", "trunk A is fine, the probe is wrong")
    cdp.click("#action-force")
    cdp.click("#btn-failover")
    cdp.wait_for("document.getElementById('confirm').open")
    assert cdp.text("confirm-title") == "Force the failover?"
    assert "If it is down, calls to the hotline are lost." in cdp.text("confirm-text")
    cdp.js("document.getElementById('confirm').dispatchEvent(new Event('cancel'))")  # Escape
    cdp.wait_for("document.getElementById('action-result').dataset.status === 'cancelled'")
    assert not [c for c in service.calls if c[0] == "failover"]
    cdp.click("#btn-failover")
    cdp.wait_for("document.getElementById('confirm').open")
    cdp.click("#confirm-ok")
    cdp.wait_for("document.getElementById('action-result').dataset.status === '200'")
    assert [c[1]["force"] for c in service.calls if c[0] == "failover"] == [True]
    # an unforced failover to a line does not ask
    cdp.js("document.getElementById('action-result').dataset.status = ''")
    cdp.click("#action-force")
    cdp.click("#btn-failover")
    cdp.wait_for("document.getElementById('action-result').dataset.status === '200'")
    assert [c[1]["force"] for c in service.calls if c[0] == "failover"] == [True, False]


def test_controls_follow_the_role(served, browser, kit):
    base, _service = served
    cdp = browser
    shown = (
        "['controls', 'btn-failover', 'btn-pause', 'btn-handover'].map(id =>"
        " document.getElementById(id).getBoundingClientRect().height > 0)"
    )
    for role, expected in [
        (Role.ADMIN, [True, True, True, True]),
        (Role.OPERATOR, [True, True, True, False]),
    ]:
        _sign_in(cdp, base, kit.tokens[role])
        cdp.wait_for("document.body.dataset.loaded === 'true'")
        assert cdp.js(shown) == expected, role
        assert cdp.text("whoami") == f"{kit.names[role]} ({role.value})"
        cdp.click("#logout")
        cdp.wait_for("!document.getElementById('login').hidden")


def test_admin_hands_over_after_confirming(served, browser, kit):
    base, service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.ADMIN])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cdp.click("#btn-handover")
    cdp.wait_for("document.getElementById('confirm').open")
    assert cdp.text("confirm-title") == "Hand over the leadership?"
    cdp.click("#confirm-ok")
    cdp.wait_for("document.getElementById('action-result').dataset.status === '200'")
    assert [c for c in service.calls if c[0] == "handover"] == [
        ("handover", {"who": kit.names[Role.ADMIN]})
    ]


def test_viewer_sees_no_controls_and_bad_token_is_refused(served, browser, kit):
    base, _service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    assert cdp.js("document.getElementById('controls').getBoundingClientRect().height") == 0
    visible = cdp.js(
        "[...document.querySelectorAll('#main button')]"
        ".filter(b => b.getBoundingClientRect().height > 0).map(b => b.id)"
    )
    assert visible == [], "a viewer sees no action button"
    assert cdp.text("whoami") == f"{kit.names[Role.VIEWER]} (viewer)"
    cdp.click("#logout")
    cdp.wait_for("!document.getElementById('login').hidden")
    assert cdp.js("sessionStorage.getItem('hotline.token')") is None
    cdp.type_into("#token-input", "not-a-valid-token-0000")
    cdp.click("#login-form button[type=submit]")
    cdp.wait_for("document.getElementById('login-error').textContent.includes('refused')")
    assert cdp.js("document.getElementById('main').hidden")


def test_demo_lab_buttons_appear_when_the_app_has_them(served_demo, browser, kit):
    base, pressed = served_demo
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cdp.wait_for("!document.getElementById('demo').hidden")
    labels = cdp.js(
        "[...document.querySelectorAll('#demo-actions button')].map(b => b.textContent)"
    )
    assert labels == ["break trunk-b"], "only same-origin /v1/demo/ paths become buttons"
    cdp.click("#demo-actions button")
    cdp.wait_for("document.getElementById('demo-result').textContent.includes('stops answering')")
    assert pressed == [{"component": "trunk-b"}]


PANEL_TEXT = "(document.getElementById({}) || {{textContent: ''}}).textContent"


def test_incident_callback_and_stats_panels_render_and_act(served_alerts, browser, kit, tmp_path):
    base, notifier, calls = served_alerts
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.querySelectorAll('#alerts-incidents li.incident').length === 1")
    incident = cdp.js(PANEL_TEXT.format("'alerts-incidents'"))
    assert "#1 CRITICAL" in incident and "primary down; calls go to secondary" in incident
    assert "not acknowledged" in incident
    cdp.wait_for("document.querySelectorAll('#alerts-callbacks li.callback').length === 1")
    assert "+420601000999 on primary" in cdp.js(PANEL_TEXT.format("'alerts-callbacks'"))
    cdp.wait_for("document.querySelector('#alerts-stats table') !== null")
    rows = cdp.js(
        "[...document.querySelectorAll('#alerts-stats tr')].slice(1)"
        ".map(r => [...r.children].slice(0, 4).map(c => c.textContent))"
    )
    assert rows == [["primary", "1", "0", "1"], ["all lines", "1", "0", "1"]]
    order = cdp.js("[...document.querySelectorAll('#main > section')].map(s => s.id)")
    assert order.index("alerts-stats") < order.index("events"), "panels sit above the timeline"
    width = cdp.js("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    _screenshot(cdp, tmp_path / "dashboard-alerts-phone.png")

    cdp.click("#alerts-incidents li.incident button")
    cdp.wait_for(PANEL_TEXT.format("'alerts-incidents'") + ".includes('acknowledged by')")
    assert f"acknowledged by {kit.names[Role.OPERATOR]}" in cdp.js(
        PANEL_TEXT.format("'alerts-incidents'")
    )
    acked = notifier.store.incident(1)
    assert acked is not None and acked.acked_by == kit.names[Role.OPERATOR]

    cdp.click("#alerts-callbacks li.callback button")
    cdp.wait_for(PANEL_TEXT.format("'alerts-callbacks'") + ".includes('Nobody is waiting')")
    assert calls.callbacks(open_only=True) == []
    closed = calls.callbacks(open_only=False)
    assert [c.closed_by for c in closed] == [kit.names[Role.OPERATOR]]


def test_viewer_sees_no_acknowledge_button_and_is_told_who_may(served_alerts, browser, kit):
    base, notifier, _calls = served_alerts
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.querySelectorAll('#alerts-incidents li.incident').length === 1")
    cdp.wait_for("document.querySelectorAll('#alerts-callbacks li.callback').length === 1")
    visible = (
        "[...document.querySelectorAll('#alerts-incidents button, #alerts-callbacks button')]"
        ".filter(b => b.getBoundingClientRect().height > 0).length"
    )
    assert cdp.js(visible) == 0
    hint = cdp.js(
        "getComputedStyle(document.querySelector('#alerts-incidents li.incident'), '::after')"
        ".content"
    )
    assert "needs an operator" in hint
    # the server refuses anyway: the button's request, sent by hand, answers 403
    status = cdp.js_await(
        "window.hotlineDashboard.api('POST', '/v1/incidents/1/ack').then(() => 0, e => e.status)"
    )
    assert status == 403
    incident = notifier.store.incident(1)
    assert incident is not None and incident.acked_by is None


def test_stats_of_another_day(served_alerts, browser, kit, tmp_path):
    base, _notifier, _calls = served_alerts
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.querySelector('#alerts-stats input.day') !== null")
    cdp.wait_for("document.querySelector('#alerts-stats table') !== null")
    zone = ZoneInfo(kit.make_config().schedule.timezone)
    today = datetime.now(UTC).astimezone(zone).date().isoformat()
    cdp.wait_for(f"document.querySelector('#alerts-stats input.day').value === {json.dumps(today)}")
    day = (datetime.now(UTC) - YESTERDAY).astimezone(zone).date().isoformat()
    cdp.js(
        "(() => { const i = document.querySelector('#alerts-stats input.day');"
        f" i.value = {json.dumps(day)}; i.dispatchEvent(new Event('change')); }})()"
    )
    cdp.wait_for(PANEL_TEXT.format("'alerts-stats'") + f".includes({json.dumps(day)})")
    rows = cdp.js(
        "[...document.querySelectorAll('#alerts-stats tr')].slice(1)"
        ".map(r => [...r.children].map(c => c.textContent))"
    )
    assert rows == [
        ["secondary", "1", "1", "0", "100 %", "60 s", "5 s"],
        ["all lines", "1", "1", "0", "100 %", "60 s", "5 s"],
    ]
    # a refresh keeps the picked day
    cdp.js("window.hotlineDashboard.refresh()")
    time.sleep(0.5)
    assert day in cdp.js(PANEL_TEXT.format("'alerts-stats'"))
    _screenshot(cdp, tmp_path / "dashboard-stats-phone.png")
