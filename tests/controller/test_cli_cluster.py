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


@pytest.fixture
def leader_api() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """/v1/cluster as answered, and POST /v1/leader/handover that makes ``next`` the leader."""
    state: dict[str, Any] = {"cluster": json.loads(json.dumps(CLUSTER)), "next": "node-2"}
    posted: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, state["cluster"])

        def do_POST(self) -> None:
            posted.append(self.path)
            state["cluster"]["leader"] = state["next"]
            self._send(200, {"accepted": True, "verified": True, "route": "primary",
                             "message": f"{state['next']} leads now"})  # fmt: skip

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state, posted
    finally:
        server.shutdown()
        server.server_close()


def test_handover_to_a_node_only_where_the_queue_has_no_other_choice(
    leader_api: tuple[str, dict[str, Any], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, state, posted = leader_api
    base = ["handover", "--url", url, "--token", "a" * 20]
    assert main([*base, "--to", "node-2"]) == 0  # the one other member
    assert posted == ["/v1/leader/handover"]
    assert "done: route primary: node-2 leads now" in capsys.readouterr().out
    assert main([*base, "--to", "node-2"]) == 0 and posted == ["/v1/leader/handover"]
    assert capsys.readouterr().out == "node-2 leads already; nothing to hand over\n"
    # Three members: two could take over, and ZooKeeper's queue, not us, picks one.
    state["cluster"]["leader"] = "node-1"
    state["cluster"]["members"].append({**CLUSTER["members"][1], "node": "node-3"})
    assert main([*base, "--to", "node-3"]) == 2 and len(posted) == 1
    err = capsys.readouterr().err
    assert "2 nodes could take over (node-2, node-3)" in err and "election queue" in err
    # Two members, but the handover ends with someone else leading: not what was asked.
    state["cluster"]["members"] = [m for m in state["cluster"]["members"] if m["node"] != "node-2"]
    state["next"] = "node-9"
    assert main([*base, "--to", "node-3"]) == 1
    assert "but node-9 leads, not node-3" in capsys.readouterr().err
