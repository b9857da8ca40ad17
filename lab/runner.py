"""The chaos lab's runner: start every peer on loopback, play a fault schedule, collect records.

``ChaosLab(tmp, LabSettings(seed=1, total_s=240)).run()`` starts a real 3-server ZooKeeper
ensemble, two PBX nodes (sipp), two trunks (Kamailio, each behind an impairment relay), the
emulator behind real ser2net (0.5 s per network operation), an aiosmtpd sink, a local Twilio,
three ``hotline run`` nodes; then places calls while it plays the seeded schedule, and returns a
:class:`RunData` for :mod:`lab.oracle`. Everything stops when it returns (or fails).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lab import clock
from lab.callers import Call, CallerGenerator, control
from lab.cluster import HANDSETS, PBX_TOKEN, LabCluster, Probing
from lab.dialplan import DialPlan, Handsets, SipLine
from lab.faults import Injectors
from lab.schedule import Fault, make_schedule
from lab.sip import PbxNode, Trunk, free_tcp_port, wait_options
from lab.udp_proxy import ProxyThread, UdpProxy
from lab.watch import SmtpSink, Term, Watch
from tests.notifier.twilio_lab import TwilioLab, twilio_lab
from tests.support.zk_lab import ZkEnsemble

PRIMARY, SECONDARY = "+420212000001", "+420212000002"
TOOLS = ("java", "sipp", "kamailio", "ser2net")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass
class LabSettings:
    seed: int = 1
    total_s: float = 240.0  # the schedule's length (start-up and collection come on top)
    latency_s: float = 0.5  # the emulated network's time per +CCFC / +CMGS
    session_s: float = 2.0
    call_interval_s: float = 2.0
    hold_s: float = 2.0
    gap_s: float = 15.0
    kinds: tuple[str, ...] | None = None
    probing: Probing = field(default_factory=Probing)

    @property
    def actuation_s(self) -> float:
        """A forwarding write and its read-back at the emulated network, plus a tick."""
        return 2 * self.latency_s + 0.5


@dataclass
class RunData:
    settings: LabSettings
    schedule: list[Fault]
    played: list[dict[str, Any]]  # {"kind", "start", "end"} in wall-clock time
    calls: list[Call]
    writes: list[dict[str, Any]]  # the emulator's forwarding writes
    opens: dict[str, list[tuple[float, str]]]  # node → relay (time, open/close)
    terms: list[Term]
    claims: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    mails: list[dict[str, Any]]
    twilio: list[dict[str, Any]]
    usage: dict[str, list[tuple[float, float, int]]]
    api_latency: list[float]
    notes: list[str]
    started: float


class ChaosLab:
    def __init__(self, tmp: Path, settings: LabSettings) -> None:
        self.tmp, self.settings = tmp, settings
        self.stack = contextlib.ExitStack()
        self.pbx = [PbxNode("pbx-1"), PbxNode("pbx-2")]
        self.trunks = {n: Trunk(n, pbx=self.pbx) for n in ("trunk-a", "trunk-b")}
        self.proxies = ProxyThread()
        self.relays: dict[str, UdpProxy] = {}
        self.plan = DialPlan(
            {
                PRIMARY: SipLine("primary", "trunk-a", PRIMARY),
                SECONDARY: SipLine("secondary", "trunk-b", SECONDARY),
            },
            Handsets({number: True for number in HANDSETS.values()}),
        )
        self.smtp = SmtpSink(free_tcp_port())
        self.twilio: TwilioLab | None = None

    def relay(self, trunk: str) -> UdpProxy:
        return self.relays[trunk]

    # ---- start and stop ------------------------------------------------------------------------
    def start(self) -> None:
        run = self.tmp / "peers"
        run.mkdir(parents=True, exist_ok=True)
        self.zk = ZkEnsemble(self.tmp / "zk", size=3)
        self.stack.callback(self._stop_zk)
        self.zk.start()
        for proc in (*self.pbx, *self.trunks.values()):
            self.stack.callback(proc.stop)
            proc.start(run)
        for port in (*[n.port for n in self.pbx], *[t.port for t in self.trunks.values()]):
            wait_options(port)
        self.stack.callback(self.proxies.close)
        for i, (name, trunk) in enumerate(self.trunks.items()):
            self.relays[name] = self.proxies.add(trunk.port, seed=self.settings.seed * 10 + i)
        self.smtp.start()
        self.stack.callback(self.smtp.stop)
        self.twilio = self.stack.enter_context(twilio_lab(self.tmp))
        self.twilio.server.requests = _Stamped()  # when each request arrived
        uris = {n: f"sip:127.0.0.1:{r.port};transport=udp" for n, r in self.relays.items()}
        uris |= {n.name: n.uri for n in self.pbx}
        s = self.settings
        self.cluster = LabCluster(
            self.tmp / "cluster",
            self.zk.hosts,
            session_s=s.session_s,
            latency_s=s.latency_s,
            ser2net=True,
            notify=True,
            uris=uris,
            smtp_port=self.smtp.port,
            twilio=self.twilio.settings(),
            probing=s.probing,
        )
        self.stack.callback(self.cluster.close)
        self.cluster.start_modem()
        self.cluster.start()
        self.watch = Watch(self.zk.hosts, self.cluster.ports)
        self.stack.callback(self.watch.stop)
        self.watch.start()
        self._track_pids()
        leader = self.cluster.one_leader(60)
        self.cluster.wait("primary in force", lambda: self.cluster.forwarded_to() == PRIMARY, 60)
        self.callers = CallerGenerator(
            self.cluster.control_port,
            self.plan,
            {n: r.port for n, r in self.relays.items()},
            run,
            s.seed,
            interval_s=s.call_interval_s,
            hold_s=s.hold_s,
            post_event=self._post_call,
        )
        self.stack.callback(self.callers.stop)
        del leader

    def _stop_zk(self) -> None:
        for server in self.zk.servers:
            server.stop(kill=True)

    def _track_pids(self) -> None:
        self.watch.pids = {n: p.pid for n, p in self.cluster.procs.items() if p.poll() is None}

    def _post_call(self, event: dict[str, Any]) -> None:
        for node in self.cluster.alive():
            r = httpx.post(
                f"http://127.0.0.1:{self.cluster.ports[node]}/v1/calls",
                json=event,
                headers={"Authorization": f"Bearer {PBX_TOKEN}"},
                timeout=5,
            )
            if r.status_code < 500:
                return

    def close(self) -> None:
        self.stack.close()

    # ---- the run -------------------------------------------------------------------------------
    def run(self) -> RunData:
        s = self.settings
        schedule = make_schedule(s.seed, s.total_s, kinds=s.kinds, gap_s=s.gap_s)
        try:
            self.start()
            return self._play(schedule)
        finally:
            self.close()

    def _play(self, schedule: list[Fault]) -> RunData:
        inject = Injectors(self)
        played: list[dict[str, Any]] = []
        self.callers.start()
        t0 = clock.wall()
        m0 = time.monotonic()
        for fault in schedule:
            _sleep_until(m0 + fault.start)
            entry: dict[str, Any] = {"kind": fault.kind, "start": clock.wall()}
            try:
                inject.begin(fault.kind)
                _sleep_until(m0 + fault.end)
                inject.end(fault.kind)
            except Exception as exc:  # a fault that could not be played is reported, not fatal
                inject.notes.append(f"{fault.kind}: {type(exc).__name__}: {exc}")
            entry["end"] = clock.wall()
            played.append(entry)
            self._track_pids()
        _sleep_until(m0 + s_total(schedule, self.settings))
        self.callers.stop()
        time.sleep(self.settings.hold_s + 1)
        return self._collect(schedule, played, inject.notes, t0)

    def _collect(
        self, schedule: list[Fault], played: list[dict[str, Any]], notes: list[str], t0: float
    ) -> RunData:
        port = self.cluster.control_port
        writes = control(port, {"cmd": "forwarding_writes"})["forwarding_writes"]
        outbox = control(port, {"cmd": "get_state"})["state"]["outbox"]
        relays = self.cluster.relays
        opens = {n: list(r.events) for n, r in relays.relays.items()} if relays else {}
        twilio = list(self.twilio.server.requests) if self.twilio else []
        return RunData(
            settings=self.settings,
            schedule=schedule,
            played=played,
            calls=self.callers.snapshot(),
            writes=writes,
            opens=opens,
            terms=list(self.watch.terms),
            claims=list(self.watch.claims),
            outbox=outbox,
            mails=list(self.smtp.handler.mails),
            twilio=[{"t": r["t"], "to": r["form"].get("To"), "mode": r["mode"]} for r in twilio],
            usage=dict(self.watch.usage),
            api_latency=list(self.watch.latency),
            notes=notes,
            started=t0,
        )


class _Stamped(list[dict[str, Any]]):
    """The local Twilio's request list, each request stamped with its arrival time."""

    def append(self, item: dict[str, Any]) -> None:
        super().append(dict(item, t=clock.wall()))


def s_total(schedule: list[Fault], settings: LabSettings) -> float:
    """When the run ends: after the last fault's gap, or the schedule's length."""
    last = schedule[-1].end + settings.gap_s if schedule else settings.total_s
    return max(last, 20.0)


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def raw_json(data: RunData) -> dict[str, Any]:
    """Everything the run recorded, for keeping beside the report (re-judging, debugging)."""
    return dataclasses.asdict(data)
