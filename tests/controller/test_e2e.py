"""End to end: ``hotline run`` as a subprocess against ``hotline modem-sim``, sipp trunks and PBX
nodes, and a real Kamailio. Each outage kind leads to the right verified route (in the modem's
forwarding and in Kamailio's dispatcher), manual failover/failback work through the CLI and the
API, drift in the modem is restored, SIGTERM exits cleanly, and a kill -9 mid-switch is healed on
restart."""

from __future__ import annotations

import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.decide.schedule import on_call
from tests.controller.e2e_lab import E2ELab, wait_for
from tests.controller.helpers import lab_config
from tests.controller.kamailio_peer import GW_A, GW_B, kamailio_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (kamailio_available() and shutil.which("sipp")), reason="needs kamailio and sipp"
    ),
]

PRIMARY, SECONDARY = "+420212000001", "+420212000002"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[E2ELab]:
    lab = E2ELab(tmp_path)
    try:
        lab.start_peers()
        lab.start_daemon()
        yield lab
    except BaseException:
        print(lab.log()[-5000:] if (tmp_path / "daemon.log").exists() else "no daemon log")
        raise
    finally:
        lab.close()


def test_outages_manual_actions_and_drift(lab: E2ELab) -> None:
    wait_for("primary verified", lambda: lab.verified("primary"), 30)
    assert lab.forwarded_to() == PRIMARY
    assert lab.gateway_flags() == {GW_A: "A", GW_B: "I"}

    # Partial outage: the primary trunk stops answering.
    lab.break_("trunk-a")
    st = wait_for("secondary verified", lambda: lab.verified("secondary"), 30)
    assert "trunk-a down" in st["reason"]
    assert lab.forwarded_to() == SECONDARY
    assert lab.gateway_flags() == {GW_A: "I", GW_B: "A"}

    # Total outage: the whole PBX cluster is gone → the on-call technician's mobile.
    lab.break_("pbx-1")
    lab.break_("pbx-2")
    wait_for("oncall verified", lambda: lab.verified("oncall"), 30)
    on_duty = on_call(lab_config().oncall, lab.now())
    assert on_duty.name == "alice"  # at the lab's pinned instant (AT), whatever today's date
    assert lab.forwarded_to() == on_duty.mobile

    # Recovery and failback.
    for name in ("pbx-1", "pbx-2", "trunk-a"):
        lab.restore(name)
    wait_for("failback to primary", lambda: lab.verified("primary"), 40)
    assert lab.forwarded_to() == PRIMARY
    assert lab.gateway_flags() == {GW_A: "A", GW_B: "I"}

    # Manual failover through the CLI, failback through the API.
    done = lab.cli(
        "failover", "--to", "secondary", "--reason", "carrier A maintenance", "--ttl", "5m"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert lab.forwarded_to() == SECONDARY
    status = lab.cli("status")
    assert status.returncode == 1 and "mode override" in status.stdout  # WARNING: an override
    code, body = lab.api("POST", "/v1/failback", json={"reason": "maintenance over"})
    assert code == 200 and body["route"] == "primary", body
    assert lab.forwarded_to() == PRIMARY
    refused = lab.cli("failover", "--to", "secondary", "--reason", "x", "--ttl", "soon")
    assert refused.returncode == 2

    # Drift: someone re-forwards the SIM behind the controller's back.
    lab.control({"cmd": "set_forwarding", "reason": "unconditional", "number": "+420999000111"})
    wait_for("drift restored", lambda: lab.forwarded_to() == PRIMARY, 15)
    events = lab.cli("events", "--limit", "200")
    assert events.returncode == 0
    assert " drift " in events.stdout and "+420999000111" in events.stdout
    assert "failover to secondary" in events.stdout and "who=lab-operator" in events.stdout

    # SIGTERM: a clean exit.
    assert lab.stop_daemon(signal.SIGTERM) == 0
    assert "stopped" in lab.log()


def test_kill_9_mid_switch_is_healed_on_restart(lab: E2ELab) -> None:
    wait_for("primary verified", lambda: lab.verified("primary"), 30)
    lab.slow_flag.touch()  # the command actuator (after modem and kamailio) now hangs
    result: dict[str, object] = {}

    def failover() -> None:
        try:
            result["answer"] = lab.api(
                "POST", "/v1/failover", json={"to": "secondary", "reason": "kill test"}
            )
        except Exception as exc:  # the daemon dies under this request
            result["error"] = exc

    t = threading.Thread(target=failover, daemon=True)
    t.start()
    wait_for(
        "the command step to start",
        lambda: lab.command_log.exists() and "secondary" in lab.command_log.read_text(),
        20,
    )
    assert lab.forwarded_to() == SECONDARY  # modem done, command half-way: a half-applied route
    lab.stop_daemon(signal.SIGKILL)
    t.join(10)

    lab.slow_flag.unlink()
    lab.start_daemon()
    st = wait_for("secondary verified after restart", lambda: lab.verified("secondary"), 30)
    assert st["epoch"] == 2
    runs = lab.command_log.read_text().splitlines()
    assert runs[-1].startswith("secondary ") and runs[-1].endswith(" 2")  # re-run by epoch 2
    assert lab.gateway_flags() == {GW_A: "I", GW_B: "A"}
    code, events = lab.api("GET", "/v1/events", params={"limit": 200})
    assert code == 200
    kinds = [(e["kind"], e.get("outcome")) for e in events]
    assert ("recovery", None) in kinds
    assert kinds.index(("recovery", None)) < len(kinds) - 1
    assert any(
        e["kind"] == "switch"
        and e["outcome"] == "ok"
        and e["route_to"] == "secondary"
        and e["epoch"] == 2
        for e in events
    )


def _failover_in_background(lab: E2ELab, reason: str) -> threading.Thread:
    def failover() -> None:
        try:
            lab.api("POST", "/v1/failover", json={"to": "secondary", "reason": reason})
        except Exception:  # the daemon may stop under this request
            return

    t = threading.Thread(target=failover, daemon=True)
    t.start()
    return t


def test_sigterm_mid_switch_finishes_the_switch_first(lab: E2ELab) -> None:
    wait_for("primary verified", lambda: lab.verified("primary"), 30)
    lab.brief_flag.touch()
    t = _failover_in_background(lab, "sigterm test")
    wait_for(
        "the command step to start",
        lambda: lab.command_log.exists() and "secondary" in lab.command_log.read_text(),
        20,
    )
    assert lab.stop_daemon(signal.SIGTERM) == 0
    t.join(10)
    log = lab.log()
    assert log.index("finishing the tick in progress") < log.index(
        "switch route_from=primary route_to=secondary outcome=ok"
    )
    lab.brief_flag.unlink()
    lab.start_daemon()
    wait_for("secondary verified after restart", lambda: lab.verified("secondary"), 30)
    code, events = lab.api("GET", "/v1/events", params={"limit": 200})
    assert code == 200
    assert not [e for e in events if e["kind"] == "recovery"]  # nothing was left half-done
    runs = [r for r in lab.command_log.read_text().splitlines() if r.startswith("secondary")]
    assert len(runs) == 1  # the step was not needed again
