"""``hotline status`` and ``hotline cluster`` over a real HTTP server: the cluster's truth as text,
and the exit codes (0 when a node may actuate, 1 when none may or the API is unreachable)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from controller.cli.main import main
from controller.cli.ops import format_status

CLUSTER: dict[str, Any] = {
    "node": "node-2",
    "cluster_epoch": 7,
    "leader": "node-1",
    "as_of": "2026-11-25T09:00:10+00:00",
    "members": [
        {"node": "node-1", "role": "leader", "may_actuate": True, "epoch": 7,
         "session": "connected", "last_seen": "2026-11-25T09:00:09.5+00:00",
         "holds_modem": True, "api": "http://10.0.0.1:8080"},
        {"node": "node-2", "role": "follower", "may_actuate": False, "epoch": 5,
         "session": "connected", "last_seen": "2026-11-25T09:00:10+00:00",
         "holds_modem": False, "api": "http://10.0.0.2:8080"},
    ],
}  # fmt: skip


@pytest.fixture
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    answers: dict[str, Any] = {"/v1/cluster": CLUSTER}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(answers.get(self.path.split("?")[0], {"detail": "nope"})).encode()
            self.send_response(200 if self.path.split("?")[0] in answers else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()
        server.server_close()


def test_cluster_table_and_exit_code(
    api: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, answers = api
    assert main(["cluster", "--url", url, "--token", "t" * 20]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "cluster epoch 7  leader node-1  (as read by node-2)"
    assert out[1].split() == ["node", "role", "acts", "epoch", "session", "last", "seen", "modem",
                              "api"]  # fmt: skip
    assert out[2].split()[:8] == ["node-1", "leader", "yes", "7", "connected", "0.5s", "ago",
                                  "HOLDS"]  # fmt: skip
    assert out[3].split()[:3] == ["node-2", "follower", "no"]
    answers["/v1/cluster"] = {**CLUSTER, "leader": None, "error": "no ZooKeeper quorum for 9s"}
    assert main(["cluster", "--url", url, "--watch", "0.01", "--count", "2"]) == 1
    text = capsys.readouterr().out
    assert text.count("cluster epoch 7") == 2 and "note: no ZooKeeper quorum for 9s" in text


def test_status_text_names_the_writer_and_the_read_back() -> None:
    status = {
        "node": "node-2", "leader": "node-1", "may_actuate": False, "mode": "auto", "epoch": 7,
        "active": {"route": "secondary", "number": "+420212000002", "since": "t", "verified": True},
        "desired": "secondary", "reason": "trunk A down", "oncall": "alice", "components": [],
        "cluster": {
            "written_by": {"kind": "leader", "node": "node-1", "epoch": 7, "at": "t1"},
            "readback": {"number": "+420212000002", "route": "secondary", "at": "t2",
                         "node": "node-1"},
            "note": "",
        },
    }  # fmt: skip
    text = format_status(status)
    assert "node node-2 (may not actuate)  leader node-1" in text
    assert "desired secondary: trunk A down" in text
    assert "written by leader node-1 epoch 7 at t1" in text
    assert "modem read back +420212000002 (secondary) at t2 by node-1" in text
    status["cluster"] = {"written_by": {"kind": "last-resort", "node": "node-3"}, "note": "n"}
    assert "written by the last-resort rule node-3" in format_status(status)
