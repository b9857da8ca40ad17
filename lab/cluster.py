"""Three ``hotline run`` nodes for the chaos lab, probing the lab's real SIP peers.

Built on tests/ha/daemon_lab.py (the emulator behind real ser2net with ``kickolduser``, one relay
per node that records when each node held the modem): only the configuration differs. Here the
trunks and PBX nodes are probed with SIP OPTIONS (through the trunks' impairment relays), the
modem with its real probe, and the notifier sends SMS through the modem, falls through to the
local Twilio and e-mails copies to the lab's SMTP sink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.ha.daemon_lab import DaemonLab, lab_dict

PBX_TOKEN = "lab-pbx-token-0000001"
ADMIN_TOKEN = "lab-admin-token-000001"
HANDSETS = {"alice": "+420777000001", "bob": "+420777000002"}


@dataclass
class Probing:
    interval_s: float = 1.0
    timeout_s: float = 0.5
    rise: int = 2
    fall: int = 2

    @property
    def detection_s(self) -> float:
        """Fall × interval + timeout: the longest a line outage goes unnoticed."""
        return self.fall * self.interval_s + self.timeout_s


@dataclass
class LabCluster(DaemonLab):
    """``uris`` maps each SIP component (trunk-a, trunk-b, pbx-1, pbx-2) to its probe URI."""

    uris: dict[str, str] = field(default_factory=dict)
    smtp_port: int = 0
    twilio: dict[str, Any] | None = None
    probing: Probing = field(default_factory=Probing)

    def config(self, name: str) -> Path:
        data = lab_dict()
        data["node"] = {"name": name, "state_dir": str(self.tmp / name)}
        assert self.relays is not None, "the chaos lab serves the modem through ser2net"
        data["hotline"]["modem"]["url"] = f"socket://127.0.0.1:{self.relays.relays[name].port}"
        data["hotline"]["modem"]["network_timeout_s"] = 10
        p = self.probing
        for comp, spec in data["components"].items():
            if comp in self.uris:
                probe = dict(spec["probes"][0], uri=self.uris[comp])
                spec["probes"] = [probe]
                spec.update(interval_s=p.interval_s, timeout_s=p.timeout_s, rise=p.rise)
                spec["fall"] = p.fall
            elif comp == "modem":
                spec.update(interval_s=2, timeout_s=2, rise=1, fall=2)
        data["oncall"]["technicians"] = [
            {"name": who, "mobile": number, "email": f"{who}@example.org"}
            for who, number in HANDSETS.items()
        ]
        data["failover"].update(failback_hold_s=5, flap_max_switches=6)
        data["coordination"] = {
            "backend": "zookeeper",
            "zookeeper": {
                "hosts": list(self.zk_hosts),
                "path": "/hotline/lab",
                "session_timeout_s": self.session_s,
            },
        }
        data["api"]["listen"] = f"127.0.0.1:{self.ports[name]}"
        tokens = [t for t in data["api"]["tokens"] if t["role"] != "pbx"]
        data["api"]["tokens"] = [*tokens, {"name": "lab-pbx", "role": "pbx", "token": PBX_TOKEN}]
        notifier = data["notifier"]
        notifier["smtp"] = {
            "host": "127.0.0.1",
            "port": self.smtp_port,
            "tls": "none",
            "from": "hotline-lab@example.org",
            "timeout_s": 5,
        }
        if self.twilio is not None:
            notifier["twilio"] = self.twilio
            notifier["channels"] = ["modem_sms", "twilio_sms"]
        data["actuators"] = [{"type": "modem", "retries": 1, "backoff_s": 0.5, "timeout_s": 15}]
        data["reconcile"] = {
            "interval_s": 0.2,
            "drift_check_s": 10,
            "retry_failed_s": 2,
            "action_wait_s": 20,
            "shutdown_grace_s": 10,
        }
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def alive(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is None]
