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
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi import APIRouter
from websockets.sync.client import connect

from controller.api import create_app
from controller.calls.model import CallEvent
from controller.calls.service import CallLog, build_call_log
from controller.config import Role, Route
from controller.notifier import build_notifier
from controller.notifier.service import Notifier
from controller.notifier.signal import Severity, Signal

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}


class Cdp:
    """A minimal DevTools client: one page target, request/response by id, bounded waits."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, timeout: float = 15.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
        raise TimeoutError(method)

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"JS error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre (so hidden/covered elements fail)."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2, r.width * r.height]; })()"
        )
        assert box[2] > 0, f"{selector} is not visible"
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def type_into(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)


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


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[str]:
    """uvicorn on 127.0.0.1 at a free port, in a thread; stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # → NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def served(kit) -> Iterator[tuple[str, Any]]:
    service = kit.fake()
    with _serve(create_app(service, kit.make_config())) as base:
        yield base, service


@pytest.fixture
def served_demo(kit) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    pressed: list[dict[str, Any]] = []
    app = create_app(kit.fake(), kit.make_config())
    app.include_router(_demo_router(pressed))
    with _serve(app) as base:
        yield base, pressed


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
    with _serve(create_app(kit.fake(), cfg, notifier=notifier, calls=calls)) as base:
        yield base, notifier, calls


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Cdp]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/apt-packages.txt lists it)")
        pytest.skip("chromium is not installed")
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=390,844",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_file.exists(), "chromium did not open its DevTools port"
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        url = page["webSocketDebuggerUrl"]
        with connect(url, max_size=64 * 1024 * 1024, open_timeout=10) as ws:
            cdp = Cdp(ws)
            cdp.call("Emulation.setDeviceMetricsOverride", **PHONE)
            yield cdp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _sign_in(cdp: Cdp, base: str, token: str) -> None:
    cdp.call("Page.enable")
    cdp.call("Page.navigate", url=f"{base}/dashboard")
    cdp.wait_for("document.readyState === 'complete' && !document.getElementById('login').hidden")
    cdp.type_into("#token-input", token)
    cdp.click("#login-form button[type=submit]")


def _screenshot(cdp: Cdp, path: Path) -> None:
    import base64

    shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    extra = os.environ.get("DASHBOARD_SCREENSHOT_DIR")
    if extra:
        shutil.copy(path, Path(extra) / path.name)


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
    assert summary.startswith("Calls go to secondary (+420212000002)") and "verified" in summary
    assert cdp.js("document.getElementById('mode').textContent") == "override"
    banners = cdp.js("document.getElementById('banners').textContent")
    assert "Override → secondary by ops" in banners and "trunk A maintenance" in banners
    rows = cdp.js(
        "[...document.querySelectorAll('#components-body tr')].map(r => [r.dataset.component,"
        " r.className, r.querySelector('.latency').textContent])"
    )
    assert rows == [
        ["trunk-a", "component down", "—"],
        ["trunk-b", "component up", "12.5 ms"],
        ["pbx-1", "component up", "3.3 ms"],
        ["modem", "component unknown", "—"],
    ]
    events = cdp.js("[...document.querySelectorAll('#events-list li')].map(l => l.dataset.eventId)")
    assert events == ["3", "2", "1"], "newest first"
    width = cdp.js("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    assert cdp.js("document.getElementById('demo').hidden"), "no demo lab on this app"
    assert cdp.js("document.getElementById('alerts-incidents') === null"), "no notifier here"
    _screenshot(cdp, tmp_path / "dashboard-phone.png")
    cdp.call("Emulation.setDeviceMetricsOverride", **DESKTOP)
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


def test_viewer_is_told_it_may_not_act_and_bad_token_is_refused(served, browser, kit):
    base, service = served
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    cdp.type_into("#action-reason", "try")
    cdp.click("#btn-pause")
    cdp.wait_for("document.getElementById('action-result').dataset.status === '403'")
    assert "may not" in cdp.js("document.getElementById('action-result').textContent")
    assert not [c for c in service.calls if c[0] == "pause"]
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


def test_viewer_is_told_acknowledging_needs_an_operator(served_alerts, browser, kit):
    base, notifier, _calls = served_alerts
    cdp = browser
    _sign_in(cdp, base, kit.tokens[Role.VIEWER])
    cdp.wait_for("document.querySelectorAll('#alerts-incidents li.incident button').length === 1")
    cdp.click("#alerts-incidents li.incident button")
    cdp.wait_for(PANEL_TEXT.format("'alerts-incidents'") + ".includes('may not')")
    assert "an operator's token may" in cdp.js(PANEL_TEXT.format("'alerts-incidents'"))
    incident = notifier.store.incident(1)
    assert incident is not None and incident.acked_by is None
    # the message outlives the panel's next refresh (every 5 s)
    cdp.js("window.hotlineDashboard.refresh()")
    time.sleep(0.5)
    assert "may not" in cdp.js(PANEL_TEXT.format("'alerts-incidents'"))


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
