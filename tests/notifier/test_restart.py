"""A restart in the middle of sending: never resent on the channel it was cut off on, one copy
on the next channel (the process is really killed)."""

from __future__ import annotations

import os
import signal as os_signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from controller.notifier.store import NotifierStore
from tests.notifier.helpers import Clock, RecordingChannel, lab_config, signal

ROOT = Path(__file__).resolve().parents[2]

TWO = {
    "channels": ["modem_sms", "email"],
    "email_copy": False,
    "smtp": {"host": "127.0.0.1", "port": 9, "tls": "none", "from": "hotline@example.org"},
    "escalation_timeout_s": 0,
}

# The child opens an incident for alice and a critical subscriber, sends the first message and
# hangs inside the channel's send() on the second, where it is killed with SIGKILL.
_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from controller.notifier.service import Notifier
    from controller.notifier.store import NotifierStore
    from tests.notifier.helpers import Clock, lab_config, signal
    from tests.notifier.test_restart import TWO

    class HangsOnSecond:
        name = "modem_sms"
        def __init__(self):
            self.calls = 0
        def accepts(self, m):
            return m.mobile is not None
        async def send(self, m):
            self.calls += 1
            print(f"send {m.key}", flush=True)
            if self.calls == 2:
                await asyncio.sleep(3600)
            return "ok"

    async def main():
        cfg = lab_config(subscribers={"critical": ["+420600111222"]}, escalation_timeout_s=0)
        if len(sys.argv) > 2:  # two channels: SMS, then e-mail
            cfg = lab_config(**TWO)
        store = NotifierStore(Path(sys.argv[1]) / "notifier.sqlite3")
        n = Notifier(cfg, cfg.notifier, store, {"modem_sms": HangsOnSecond()}, clock=Clock())
        await n.signal(signal())
        await n.signal(signal(key="quorum", summary="ZooKeeper quorum lost", route=None))
        await n.run_once()

    asyncio.run(main())
    """
)


def _killed_mid_send(tmp_path: Path, *args: str) -> tuple[str, str]:
    """Run the child until it hangs in its second send, SIGKILL it: (sent key, interrupted key)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while len(lines) < 2 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        lines.append(line.split()[1])
    child.send_signal(os_signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    assert len(lines) == 2, lines
    return lines[0], lines[1]


async def test_killed_mid_send_is_not_resent_after_restart(tmp_path: Path) -> None:
    first, interrupted = _killed_mid_send(tmp_path)

    from controller.notifier.service import Notifier

    sms = RecordingChannel("modem_sms")
    cfg = lab_config(subscribers={"critical": ["+420600111222"]}, escalation_timeout_s=0)
    store = NotifierStore(tmp_path / "notifier.sqlite3")
    n = Notifier(cfg, cfg.notifier, store, {"modem_sms": sms}, clock=Clock())
    await n.start()
    await n.stop()
    store = NotifierStore(tmp_path / "notifier.sqlite3")
    n = Notifier(cfg, cfg.notifier, store, {"modem_sms": sms}, clock=Clock())
    await n.signal(signal())  # the controller repeats its signals after a restart: no new sends
    await n.signal(signal(key="quorum", summary="ZooKeeper quorum lost", route=None))
    await n.run_once()
    states = {r.message.key: r.state for r in store.outbox()}
    assert states[first] == "sent"
    assert states[interrupted] == "unknown"
    sent_keys = [m.key for m in sms.sent]
    assert first not in sent_keys and interrupted not in sent_keys
    # the rest of the queue goes out exactly once
    assert sorted(sent_keys) == sorted(set(states) - {first, interrupted})
    assert len(sent_keys) == 2
    store.close()


async def test_killed_mid_send_goes_once_more_on_the_next_channel(tmp_path: Path) -> None:
    """The interrupted send's outcome is unknown (the modem may have sent it): at least once
    means one copy on the next channel; at most two means never again on the modem."""
    first, interrupted = _killed_mid_send(tmp_path, "two")

    from controller.notifier.service import Notifier

    sms, mail = RecordingChannel("modem_sms"), RecordingChannel("email")
    cfg = lab_config(**TWO)
    channels = {"modem_sms": sms, "email": mail}
    n = Notifier(cfg, cfg.notifier, NotifierStore(tmp_path / "notifier.sqlite3"), channels)
    await n.start()
    await n.stop()
    store = NotifierStore(tmp_path / "notifier.sqlite3")
    n = Notifier(cfg, cfg.notifier, store, channels, clock=Clock())
    await n.run_once()
    assert [m.key for m in mail.sent].count(interrupted) == 1
    assert interrupted not in [m.key for m in sms.sent]
    assert first not in [m.key for m in sms.sent + mail.sent]
    store.close()
