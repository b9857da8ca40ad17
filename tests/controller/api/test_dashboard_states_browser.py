"""The dashboard in headless Chromium in each state an operator must tell apart at a glance.

Normal, partial outage, total outage (the PBX cluster down: a line's ``depends_on`` names the
cluster ``pbx``, not a component), paused on a dead line, a failed switch, and stale data (the
controller stops answering). Each is checked as a person sees it (classes, computed colours, the
words) at 390×844 and 1366×900, and screenshotted to ``build/artifacts/dashboard/``. The app is
the real API with a fake controller service (whose answers the test sets), the real notifier
and call log (SQLite in the test's tmp dir) and a demo-lab router, so the phone order of every
card can be checked.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from controller.api import create_app
from controller.calls.model import CallEvent
from controller.calls.service import build_call_log
from controller.config import Role, Route
from controller.notifier import build_notifier
from controller.notifier.signal import Severity, Signal
from controller.service.contract import (
    ActiveRoute,
    ClusterStatus,
    ComponentView,
    EventRecord,
    PauseView,
    StatusReport,
)
from tests.support.browser import DESKTOP, PHONE, Cdp, Served, chromium, serve
from tests.support.clocks import ticking_from

pytestmark = pytest.mark.slow

T0 = datetime(2026, 6, 17, 9, 30, tzinfo=UTC)
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
CODES = ("partial_outage", "total_outage", "paused_on_down_route", "health_unknown")
# What must never reach the page: C0/C1 controls, bidi embeddings, overrides and isolates.
UNSAFE_JS = (
    r"/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/"
)


def _components(down: set[str]) -> list[ComponentView]:
    kinds = [("trunk-a", "trunk"), ("trunk-b", "trunk"), ("pbx-1", "pbx_node"),
             ("pbx-2", "pbx_node"), ("modem", "modem")]  # fmt: skip
    return [
        ComponentView(
            name=name,
            kind=kind,
            status="down" if name in down else "up",
            since=T0,
            reason="timeout" if name in down else "200 OK",
            latency_ms=None if name in down else 4.0,
        )
        for name, kind in kinds
    ]


def _status(state: str) -> StatusReport:
    """The controller's answer in each state (as the daemon's service would give it)."""
    line = {"primary": "+420212000001", "secondary": "+420212000002", "oncall": "+420777000002"}
    route, down, conds = Route.PRIMARY, set[str](), list[str]()
    mode: Any = "auto"
    verified, failed, desired, pause = True, False, Route.PRIMARY, None
    if state == "partial":
        route, desired, down, conds = (
            Route.SECONDARY,
            Route.SECONDARY,
            {"trunk-a"},
            ["partial_outage"],
        )
    elif state == "total":
        route, desired, down, conds = (
            Route.ONCALL,
            Route.ONCALL,
            {"pbx-1", "pbx-2"},
            ["total_outage"],
        )
    elif state == "paused-dead":
        mode, down = "paused", {"trunk-a"}
        conds = ["partial_outage", "paused", "paused_on_down_route"]
        pause = PauseView(reason="carrier maintenance window", who="ops", since=T0)
        desired = None
    elif state == "failed":
        verified, failed, desired, down = False, True, Route.SECONDARY, {"trunk-a"}
        conds = ["partial_outage"]
    return StatusReport(
        node="lab-1",
        leader="lab-1",
        is_leader=True,
        mode=mode,
        active=ActiveRoute(
            route=route, number=line[route.value], since=T0, verified=verified, failed=failed
        ),
        desired=desired,
        reason=f"{state}: see the components",
        conditions=conds,
        components=_components(down),
        pause=pause,
        oncall="bob",
        epoch=3,
    )


def _events(n: int) -> list[EventRecord]:
    return [
        EventRecord(id=i, at=T0 + timedelta(seconds=i), kind="decision", reason=f"tick {i}")
        for i in range(1, n + 1)
    ]


def _demo_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/demo")
    async def actions() -> dict[str, Any]:
        body = {"component": "trunk-a"}
        return {"actions": [{"label": "break trunk-a", "path": "/v1/demo/break", "body": body}]}

    return router


def _caller_display(app: FastAPI) -> None:
    """Stands in for the API's caller normalisation (issue 16) if it is not there yet: every
    callback gains ``caller_display``. The page must show it rather than the raw ``caller``."""

    @app.middleware("http")
    async def display(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        if request.url.path != "/v1/callbacks" or response.status_code != 200:
            return response
        raw = b"".join([chunk async for chunk in response.body_iterator])
        rows = json.loads(raw)
        for row in rows:
            row.setdefault("caller_display", "withheld or unknown number")
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(json.dumps(rows), status_code=200, headers=headers)


@dataclass
class Lab:
    served: Served
    service: Any
    gate: threading.Event


@pytest.fixture
def lab(kit, tmp_path: Path) -> Iterator[Lab]:
    cfg = kit.make_config()
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    clock = ticking_from(T0 + timedelta(minutes=30))  # the incident opens half an hour in
    notifier = build_notifier(cfg, modem=None, state_dir=state_dir, clock=clock)
    calls = build_call_log(
        cfg.notifier.calls, cfg.schedule.timezone, state_dir, notifier, clock=clock
    )
    now = clock()
    signal = Signal(key="route", active=True, severity=Severity.CRITICAL, at=now,
                    summary="primary down; calls go to secondary", detail="trunk-a",
                    route="secondary")  # fmt: skip
    asyncio.run(notifier.signal(signal))
    missed = CallEvent(
        call_id="pbx-1-0002",
        caller="\u202e999000106024+",  # renders as +420601000999 in a browser
        line="primary",
        start=now - timedelta(seconds=30),
        end=now - timedelta(seconds=10),
    )
    asyncio.run(calls.record(missed))
    gate = threading.Event()
    gate.set()

    class Stalling(kit.fake):
        def status(self) -> StatusReport:
            gate.wait(30)  # cleared: the controller hangs (its event loop with it)
            return super().status()

    service = Stalling(report=_status("normal"), event_list=_events(75))
    app = create_app(service, cfg, notifier=notifier, calls=calls)
    app.include_router(_demo_router())
    _caller_display(app)
    with serve(app) as served:
        try:
            yield Lab(served, service, gate)
        finally:
            gate.set()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Cdp]:
    with chromium(tmp_path / "profile") as cdp:
        yield cdp


def _show(cdp: Cdp, lab: Lab, state: str) -> None:
    lab.service.report = _status(state)
    cdp.js("window.hotlineDashboard.refresh()")
    want = {"normal": "normal", "partial": "partial_outage", "total": "total_outage",
            "paused-dead": "paused_on_down_route", "failed": "switch_failed"}[state]  # fmt: skip
    cdp.wait_for(f"document.querySelector('#banners li[data-code={want}]') !== null")


def _shots(cdp: Cdp, tmp_path: Path, state: str) -> None:
    """Full-page and first-screen PNGs of ``state`` at both sizes; back to the phone after."""
    for name, metrics in (("phone", PHONE), ("desktop", DESKTOP)):
        cdp.viewport(metrics)
        cdp.screenshot(tmp_path, f"{state}-{name}.png")
        cdp.screenshot(tmp_path, f"screen-{state}-{name}.png", full_page=False)
    cdp.viewport(PHONE)


def _notice(cdp: Cdp) -> list[Any]:
    """The first notice: [severity class, text, computed background colour]."""
    return list(
        cdp.js(
            "(() => { const li = document.querySelector('#banners li');"
            " return [li.className, li.textContent, getComputedStyle(li).backgroundColor]; })()"
        )
    )


def _edge(cdp: Cdp, route: str) -> list[Any]:
    return list(
        cdp.js(
            f"(() => {{ const e = document.getElementById('edge-{route}');"
            " const s = getComputedStyle(e);"
            f" return [e.getAttribute('class'), s.stroke, s.strokeDasharray,"
            f" document.getElementById('edge-label-{route}').textContent]; }})()"
        )
    )


def _classes(cdp: Cdp, element_id: str) -> set[str]:
    return set(cdp.js(f"[...document.getElementById('{element_id}').classList]"))


def _no_raw_identifiers(cdp: Cdp) -> None:
    text = cdp.js("document.body.innerText")
    assert not [c for c in CODES if c in text], "a raw condition identifier is shown"


def test_each_state_is_drawn_and_worded_by_severity(lab, browser, kit, tmp_path):
    cdp = browser
    cdp.sign_in(lab.served.base, kit.tokens[Role.OPERATOR], "#poll=1")
    cdp.wait_for("document.body.dataset.loaded === 'true'")

    _show(cdp, lab, "normal")
    sev, text, green = _notice(cdp)
    assert (sev, text) == ("banner sev-ok", "Normal — calls go to the primary line")
    cls, stroke, dash, label = _edge(cdp, "primary")
    assert "active" in cls and dash == "none" and label == ""
    _shots(cdp, tmp_path, "normal")

    _show(cdp, lab, "partial")
    sev, text, amber = _notice(cdp)
    assert sev == "banner sev-warn"
    assert text == "Partial outage — the primary line is down; calls go to the secondary line"
    assert "down" in _classes(cdp, "target-primary")
    assert "down" not in _classes(cdp, "target-secondary")
    _no_raw_identifiers(cdp)
    _shots(cdp, tmp_path, "partial")

    _show(cdp, lab, "total")
    sev, text, red = _notice(cdp)
    assert sev == "banner sev-bad"
    assert text == "Total outage — both lines are down; calls go to the on-call mobile"
    assert len({green, amber, red}) == 3, "normal, partial and total look different"
    for line in ("primary", "secondary"):  # the PBX cluster (pbx: 0/2 up) is on both lines
        assert "down" in _classes(cdp, f"target-{line}"), line
        assert cdp.text(f"state-{line}") == "DOWN: pbx"
    assert "active" in _edge(cdp, "oncall")[0]
    _no_raw_identifiers(cdp)
    _shots(cdp, tmp_path, "total")

    _show(cdp, lab, "paused-dead")
    cls, stroke, dash, label = _edge(cdp, "primary")
    assert "active" not in cls.split() and "dead" in cls.split()
    assert dash != "none" and stroke != _edge_green(cdp), "not solid green"
    assert label == "paused · DOWN"
    sev, text, _ = _notice(cdp)
    assert sev == "banner sev-bad" and text.startswith("Paused on a line that is down")
    _no_raw_identifiers(cdp)
    _shots(cdp, tmp_path, "paused-dead")

    _show(cdp, lab, "failed")
    cls, stroke, dash, label = _edge(cdp, "primary")
    assert "failed" in cls.split() and "active" not in cls.split() and dash != "none"
    assert label == "switch FAILED"
    sev, text, _ = _notice(cdp)
    assert sev == "banner sev-bad"
    assert (
        text == "The last switch to the secondary line FAILED — calls still go to the primary line"
    )
    assert "NOT verified — last switch FAILED" in cdp.text("route-summary")
    _shots(cdp, tmp_path, "failed")
    assert cdp.js("window.cspViolations") == [], "the page works under its strict CSP"


def _edge_green(cdp: Cdp) -> str:
    """The computed stroke of a healthy active edge (for comparison)."""
    return str(
        cdp.js(
            "(() => { const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');"
            " p.setAttribute('class', 'edge active');"
            " document.getElementById('callpath-svg').append(p);"
            " const c = getComputedStyle(p).stroke; p.remove(); return c; })()"
        )
    )


STALE_TEXT = re.compile(
    r"^No answer from the controller for (\d+) s — what you see is from "
    r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$"
)


def _stale_banner(cdp: Cdp) -> list[Any]:
    return list(
        cdp.js(
            "(() => { const b = document.getElementById('stale');"
            " const r = b.getBoundingClientRect();"
            " return [b.hidden, r.top, r.height, getComputedStyle(b).backgroundColor,"
            " document.getElementById('stale-text').textContent,"
            " getComputedStyle(document.getElementById('components')).filter]; })()"
        )
    )


def test_stale_banner_when_the_controller_hangs_fails_or_stops(lab, browser, kit, tmp_path):
    cdp = browser
    cdp.sign_in(lab.served.base, kit.tokens[Role.VIEWER], "#poll=1")
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    assert cdp.js("document.getElementById('stale').hidden")

    # 1. it hangs: no answer at all (its event loop is stuck); the fetch gives up after 2 s
    lab.gate.clear()
    started = time.monotonic()
    cdp.wait_for("!document.getElementById('stale').hidden", timeout=8)
    assert time.monotonic() - started < 8
    lab.gate.set()
    cdp.wait_for("document.getElementById('stale').hidden", timeout=8)
    assert not cdp.js("document.body.classList.contains('stale')")

    # 2. it fails (HTTP 500): the banner shows at the next poll
    lab.service.fail_with = RuntimeError("store unreadable")
    cdp.wait_for("!document.getElementById('stale').hidden", timeout=5)
    assert "HTTP 500" in cdp.text("stale-why")
    lab.service.fail_with = None
    cdp.wait_for("document.getElementById('stale').hidden", timeout=5)

    # 3. it stops: the port refuses; the age of the last good answer grows on the banner
    lab.served.stop()
    cdp.wait_for("!document.getElementById('stale').hidden", timeout=5)
    cdp.wait_for("Number(document.getElementById('stale').dataset.age) >= 3", timeout=8)
    hidden, top, height, colour, text, grey = _stale_banner(cdp)
    match = STALE_TEXT.match(text)
    assert match and int(match.group(1)) >= 3, text
    assert not hidden and top == 0
    assert colour == "rgb(183, 28, 28)" and height > 30
    assert "grayscale(1)" in grey, "the components are greyed while stale"
    cdp.js("window.scrollTo(0, document.documentElement.scrollHeight)")
    cdp.wait_for("window.scrollY > 500")
    assert _stale_banner(cdp)[1] == 0, "the banner stays at the top of the window when scrolled"
    _shots(cdp, tmp_path, "stale")


def _top(cdp: Cdp, selector: str) -> float:
    return float(
        cdp.js(f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().top")
    )


def test_phone_puts_incidents_first_and_bounds_the_events(lab, browser, kit):
    cdp = browser
    cdp.sign_in(lab.served.base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.querySelector('#alerts-incidents li.incident button') !== null")
    cdp.wait_for("document.querySelector('#alerts-callbacks li.callback') !== null")
    cdp.wait_for("!document.getElementById('demo').hidden")
    order = ["#alerts-incidents", "#callpath", "#alerts-callbacks", "#components", "#controls",
             "#demo", "#alerts-stats", "#events"]  # fmt: skip
    tops = [_top(cdp, s) for s in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    ack = cdp.js(
        "document.querySelector('#alerts-incidents li.incident button').getBoundingClientRect()"
        ".bottom"
    )
    assert ack < PHONE["height"], "the Acknowledge button is on the first screen"

    # events: 20 of the 75, more on demand, back to 20
    count = "document.querySelectorAll('#events-list li').length"
    assert cdp.js(count) == 20
    assert [c[1]["limit"] for c in lab.service.calls if c[0] == "events"][-1] == 20
    height = cdp.js("document.documentElement.scrollHeight")
    assert height < 4500, f"the phone page is {height}px with 20 events"
    cdp.click("#events-more")
    cdp.wait_for(f"{count} === 40")
    cdp.click("#events-less")
    cdp.wait_for(f"{count} === 20")

    # every instant carries its date and zone, the same way
    stamps = cdp.js(
        "[...document.querySelectorAll('#events-list time, #components-body td.since')]"
        ".map(e => e.textContent).filter(t => t !== '—')"
    )
    assert stamps and all(STAMP.match(s) for s in stamps), stamps[:3]
    incident = cdp.text("alerts-incidents")
    assert re.search(r"since \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", incident), incident
    assert "UTC" in cdp.text("updated")


def test_callbacks_show_caller_display_and_no_bidi_reaches_the_page(lab, browser, kit):
    cdp = browser
    cdp.sign_in(lab.served.base, kit.tokens[Role.OPERATOR])
    cdp.wait_for("document.querySelector('#alerts-callbacks li.callback') !== null")
    shown = cdp.js("document.querySelector('#alerts-callbacks li.callback strong').textContent")
    assert shown == "withheld or unknown number", "caller_display, not the raw caller"
    assert "+420601000999" not in cdp.text("alerts-callbacks"), "the RLO trick shows nothing"
    assert cdp.js(f"{UNSAFE_JS}.test(document.body.innerText)") is False
    # any string of any answer is cleaned before the page sees it
    cleaned = cdp.js("window.hotlineDashboard.clean('a\\u202eb\\u2066c\\u0007d\\u200fe')")
    assert cleaned == "a\ufffdb\ufffdc\ufffdd\ufffde"


def test_no_quorum_and_no_leader_are_said_in_red(lab, browser, kit):
    cdp = browser
    cdp.sign_in(lab.served.base, kit.tokens[Role.VIEWER], "#poll=1")
    cdp.wait_for("document.body.dataset.loaded === 'true'")
    normal = _status("normal")
    cluster = ClusterStatus(leader=None, quorum=False, route=normal.active, as_of=T0)
    lab.service.report = normal.model_copy(update={"cluster": cluster})
    cdp.wait_for("document.querySelector('#banners li[data-code=no_quorum]') !== null")
    sev, text, _ = _notice(cdp)
    assert sev == "banner sev-bad"
    assert text == (
        "No ZooKeeper quorum — this node cannot confirm the cluster's state"
        " (last read 2026-06-17 09:30:00 UTC)"
    )
    assert cdp.js("document.querySelector('#banners li[data-code=normal]')") is None
    lab.service.report = normal.model_copy(update={"leader": None, "is_leader": False})
    cdp.wait_for("document.querySelector('#banners li[data-code=no_leader]') !== null")
    assert cdp.text("leader") == "standby (leader: none)"
