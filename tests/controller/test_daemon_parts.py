"""What ``controller.daemon.assemble`` wires together (built, not served): the notifier asks the
coordinator who leads, and with the local backend the loop's ``LeaderView`` changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from controller.daemon import assemble
from health.model import Status
from tests.controller.helpers import T0, FakeHealth, lab_config, lab_dict


async def test_reminders_and_escalation_follow_the_coordinators_leadership(
    tmp_path: Path,
) -> None:
    cfg = lab_config(node={"name": "lab-1", "state_dir": str(tmp_path / "state")})
    parts = await assemble(cfg)
    try:
        is_leader = getattr(parts.sink, "is_leader", None)
        assert is_leader is not None, "the notifier must be told who leads"
        assert is_leader() is False  # not started: nobody leads yet
        await parts.coordinator.start()
        assert parts.coordinator.is_leader() and is_leader() is True
        await parts.coordinator.stop()
        assert is_leader() is False  # it asks each time, it does not remember
    finally:
        if parts.link is not None:
            await parts.link.close()
        parts.events.close()


async def test_with_the_local_backend_the_loop_sees_the_monitors_snapshot(
    tmp_path: Path,
) -> None:
    cfg = lab_config(
        node={"name": "lab-1", "state_dir": str(tmp_path / "state")}, notifier={"enabled": False}
    )
    health = FakeHealth(cfg, T0)
    health.set("trunk-a", Status.DOWN, T0 + timedelta(seconds=5))
    parts = await assemble(cfg, monitor=health)
    try:
        await parts.coordinator.start()
        assert parts.view is not None and parts.loop.monitor is parts.view
        assert parts.view.majority is False
        assert parts.view.snapshot() == health.snapshot()  # no term, no majority: unchanged
    finally:
        await parts.coordinator.stop()
        if parts.link is not None:
            await parts.link.close()
        parts.events.close()


async def test_the_configured_baud_rate_reaches_the_serial_port(tmp_path: Path) -> None:
    """A SIM800 on a local UART at 9600 baud must be opened at 9600 (it was always 115200)."""
    data = lab_dict()
    data["hotline"]["modem"]["baudrate"] = 9600
    cfg = lab_config(
        node={"name": "lab-1", "state_dir": str(tmp_path / "state")}, hotline=data["hotline"]
    )
    parts = await assemble(cfg)
    try:
        assert parts.link is not None
        assert parts.link._baudrate == 9600
    finally:
        if parts.link is not None:
            await parts.link.close()
        parts.events.close()
