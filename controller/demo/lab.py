"""The demo lab's peers on loopback: the modem emulator, SIP OPTIONS responders for the trunks and
PBX nodes, and an SMTP sink, all in this process; plus the lab config, optionally on free ports.

"Breaking" a trunk or PBX node makes its responder go silent, exactly what a dead SBC looks like to
the SIP probe; "pbx" names every PBX node at once.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from controller.config import ComponentKind, HotlineConfig, parse_config
from controller.demo.sip import OptionsResponder
from modem.e164 import is_e164

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

    from modem.emulator import ModemEmulator

LAB_YAML = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
_SIP_PORT = re.compile(r"^(sip:127\.0\.0\.1:)([0-9]+)(.*)$")
_SOCKET_URL = re.compile(r"^socket://127\.0\.0\.1:([0-9]+)$")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_config(
    path: Path = LAB_YAML, *, free_ports: bool = False, state_dir: Path | None = None
) -> HotlineConfig:
    """The lab config; with ``free_ports`` every loopback port is replaced by a free one."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if state_dir is not None:
        data.setdefault("node", {})["state_dir"] = str(state_dir)
    if free_ports:
        data["hotline"]["modem"]["url"] = f"socket://127.0.0.1:{free_port()}"
        for comp in data["components"].values():
            for probe in comp["probes"]:
                m = _SIP_PORT.match(str(probe.get("uri", "")))
                if m:
                    probe["uri"] = f"{m.group(1)}{free_port(socket.SOCK_DGRAM)}{m.group(3)}"
        data.setdefault("api", {})["listen"] = f"127.0.0.1:{free_port()}"
        smtp = data.get("notifier", {}).get("smtp")
        if smtp:
            smtp["port"] = free_port()
    return parse_config(yaml.safe_dump(data, sort_keys=False), str(path))


def _mail_view(raw: str) -> dict[str, str]:
    from email import message_from_string, policy

    msg = message_from_string(raw, policy=policy.default)
    body = msg.get_body(preferencelist=("plain",)) if hasattr(msg, "get_body") else None
    text = body.get_content() if body is not None and hasattr(body, "get_content") else ""
    view = {k: str(msg.get(k, "")) for k in ("From", "To", "Subject", "Date")}
    return {k.lower(): v for k, v in view.items()} | {"text": str(text).strip()}


class Lab:
    """Start and stop the peers the lab config names; break and restore them by name."""

    def __init__(self, cfg: HotlineConfig) -> None:
        self.cfg = cfg
        self.responders: dict[str, OptionsResponder] = {}
        self.emulator: ModemEmulator | None = None
        self._smtp: Controller | None = None
        self.mail: list[str] = []

    @property
    def breakable(self) -> list[str]:
        names = sorted(self.responders)
        return [*names, self.cfg.pbx_cluster.name] if names else names

    async def start(self) -> None:
        from modem.emulator import ModemEmulator

        m = _SOCKET_URL.match(self.cfg.hotline.modem.url)
        if not m:
            raise ValueError("the lab's modem must be socket://127.0.0.1:PORT")
        pin = self.cfg.hotline.modem.pin
        self.emulator = ModemEmulator(pin=None if pin is None else pin.get_secret_value())
        await self.emulator.start_tcp("127.0.0.1", int(m.group(1)))
        for name, comp in self.cfg.components.items():
            for probe in comp.probes:
                sm = _SIP_PORT.match(str(getattr(probe, "uri", "")))
                if sm:
                    responder = OptionsResponder(name)
                    await responder.start("127.0.0.1", int(sm.group(2)))
                    self.responders[name] = responder
        self._start_smtp()

    def _start_smtp(self) -> None:
        smtp = getattr(getattr(self.cfg, "notifier", None), "smtp", None)
        if smtp is None or smtp.host != "127.0.0.1":
            return
        try:
            from aiosmtpd.controller import Controller
        except ImportError:  # a production install without the test extras: no mail sink
            return

        lab = self

        class Sink:
            async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
                content = envelope.content  # bytes: the controller does not decode the data
                text = (
                    content.decode("utf-8", errors="replace")
                    if isinstance(content, bytes)
                    else str(content)
                )
                lab.mail.append(text)
                return "250 OK"

        self._smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp.port)
        self._smtp.start()

    def _targets(self, name: str) -> list[OptionsResponder]:
        if name == self.cfg.pbx_cluster.name:
            return [
                self.responders[n]
                for n, c in self.cfg.components.items()
                if c.kind is ComponentKind.PBX_NODE and n in self.responders
            ]
        if name not in self.responders:
            raise KeyError(f"unknown component {name!r}; try one of {', '.join(self.breakable)}")
        return [self.responders[name]]

    def set_answering(self, name: str, answering: bool) -> str:
        for r in self._targets(name):
            r.answering = answering
        return f"{name} {'restored' if answering else 'broken (no longer answers SIP OPTIONS)'}"

    def sent_sms(self) -> list[dict[str, object]]:
        """What the emulated modem sent to the network, oldest first."""
        if self.emulator is None:
            return []
        return [
            {"to": m.to, "text": m.text, "parts": m.parts, "encoding": m.encoding}
            for m in self.emulator.outbox
        ]

    def mailbox(self) -> list[dict[str, str]]:
        """The SMTP sink's messages, oldest first: the headers a person reads and the text."""
        return [_mail_view(raw) for raw in self.mail]

    def sender(self, ref: str | None) -> tuple[str, str]:
        """(E.164 number, who) for a technician's name, an E.164 number, or None (on call)."""
        from controller.clock import utcnow
        from controller.decide.schedule import on_call

        techs = {t.name: t for t in self.cfg.oncall.technicians}
        if ref is None:
            tech = on_call(self.cfg.oncall, utcnow())
            return tech.mobile, tech.name
        if ref in techs:
            return techs[ref].mobile, ref
        if is_e164(ref):
            known = next((t.name for t in techs.values() if t.mobile == ref), None)
            return ref, known or "an unknown number"
        raise KeyError(
            f"from: not a technician or an E.164 number; technicians: {', '.join(techs)}"
        )

    def receive_sms(self, sender: str, text: str) -> int:
        """An SMS from ``sender`` reaches the SIM (the parts it arrived in)."""
        if self.emulator is None:
            raise ValueError("the lab's modem emulator is not running")
        return len(self.emulator.deliver_sms(sender, text))

    def forwarded_to(self) -> str | None:
        if self.emulator is None:
            return None
        fwd = self.emulator.voice_forwarding(0)
        return fwd.number if fwd.active else None

    async def stop(self) -> None:
        for r in self.responders.values():
            r.close()
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self.emulator is not None:
            await self.emulator.stop()
