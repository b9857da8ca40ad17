"""A real headless Chromium driven over the Chrome DevTools protocol, and uvicorn in a thread.

For the dashboard's browser tests: ``chromium()`` starts the browser on a loopback DevTools port
(port 0, read from ``DevToolsActivePort``) with a throw-away profile and yields a ``Cdp`` on its
page; ``serve(app)`` runs an ASGI app on 127.0.0.1 at a free port until the block ends (or until
``Served.stop()``, to see what the page does when the controller stops answering). Every wait is
bounded. Screenshots go to the test's directory and to ``build/artifacts/dashboard/`` (or
``$DASHBOARD_SCREENSHOT_DIR``) so a person can look at them after the run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "artifacts" / "dashboard"


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

    def js_await(self, expression: str) -> Any:
        """The value of a promise-returning ``expression`` once it settles."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
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

    def text(self, element_id: str) -> str:
        return str(self.js(f"document.getElementById({json.dumps(element_id)}).textContent"))

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

    def viewport(self, metrics: dict[str, Any]) -> None:
        self.call("Emulation.setDeviceMetricsOverride", **metrics)
        self.wait_for(f"window.innerWidth === {metrics['width']}")

    def sign_in(self, base: str, token: str, fragment: str = "") -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=f"{base}/dashboard{fragment}")
        self.wait_for(
            "document.readyState === 'complete' && !document.getElementById('login').hidden"
        )
        self.type_into("#token-input", token)
        self.click("#login-form button[type=submit]")

    def screenshot(self, directory: Path, name: str, *, full_page: bool = True) -> Path:
        """A PNG in ``directory`` and in the artefacts directory; returns the former."""
        self.js("window.scrollTo(0, 0)")
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        path = directory / name
        path.write_bytes(base64.b64decode(shot["data"]))
        extra = Path(os.environ.get("DASHBOARD_SCREENSHOT_DIR") or ARTIFACTS)
        extra.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, extra / name)
        return path


_FLAGS = (
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
)


# Every Content-Security-Policy violation of a page, in ``window.cspViolations`` (a test
# asserts it stays empty: the dashboard must work under its strict policy).
_CSP_WATCH = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', e =>"
    " window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@contextlib.contextmanager
def chromium(profile: Path, metrics: dict[str, Any] = PHONE) -> Iterator[Cdp]:
    """Headless Chromium with a fresh profile in ``profile``; skips (fails on CI) without it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/apt-packages.txt lists it)")
        pytest.skip("chromium is not installed")
    size = f"--window-size={metrics['width']},{metrics['height']}"
    cmd = [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", size, "about:blank"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        words: list[str] = []
        while len(words) < 2 and time.monotonic() < deadline:  # "PORT\n/devtools/browser/ID"
            time.sleep(0.05)
            words = port_file.read_text().split() if port_file.exists() else []
        assert len(words) >= 2, "chromium did not open its DevTools port"
        port = int(words[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        url = page["webSocketDebuggerUrl"]
        with connect(url, max_size=64 * 1024 * 1024, open_timeout=10) as ws:
            cdp = Cdp(ws)
            cdp.call("Emulation.setDeviceMetricsOverride", **metrics)
            cdp.call("Page.addScriptToEvaluateOnNewDocument", source=_CSP_WATCH)
            yield cdp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Served:
    base: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Stop answering: the server exits and its port refuses connections."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[Served]:
    """uvicorn on 127.0.0.1 at a free port, in a thread; stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # → NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    served = Served(f"http://127.0.0.1:{port}", server, thread)
    try:
        yield served
    finally:
        served.stop()
        sock.close()
