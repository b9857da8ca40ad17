"""The fault injectors: ``begin(kind)`` and ``end(kind)`` for every kind of :mod:`lab.schedule`.

Each acts on a real peer the way the fault happens in the field: the trunk's relay goes silent or
lossy, a PBX node or a daemon is stopped with a signal, ZooKeeper servers are killed, the
emulator's network is switched off or its link dropped, the SMTP sink stops, the local Twilio
answers 500. The leader is the one ZooKeeper's epoch record names, not what the nodes say.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TYPE_CHECKING

import httpx

from lab.callers import control
from lab.cluster import ADMIN_TOKEN

if TYPE_CHECKING:
    from lab.runner import ChaosLab


class Injectors:
    def __init__(self, lab: ChaosLab) -> None:
        self.lab = lab
        self.victim: str | None = None  # the node a fault stopped, to bring back
        self.stopped_zk: list[int] = []
        self.notes: list[str] = []

    def begin(self, kind: str) -> None:
        getattr(self, f"_begin_{kind}")()

    def end(self, kind: str) -> None:
        hook = getattr(self, f"_end_{kind}", None)
        if hook is not None:
            hook()

    # ---- SIP side ------------------------------------------------------------------------------
    def _begin_trunk_down(self) -> None:
        self.lab.relay("trunk-a").impairment.down = True

    def _end_trunk_down(self) -> None:
        self.lab.relay("trunk-a").impairment.down = False

    def _begin_flapping_trunk(self) -> None:
        self.lab.relay("trunk-a").impairment.loss = 0.3

    def _end_flapping_trunk(self) -> None:
        self.lab.relay("trunk-a").impairment.loss = 0.0

    def _begin_pbx_node_down(self) -> None:
        self.lab.pbx[0].signal(signal.SIGSTOP)

    def _end_pbx_node_down(self) -> None:
        self.lab.pbx[0].signal(signal.SIGCONT)

    def _begin_pbx_cluster_down(self) -> None:
        for node in self.lab.pbx:
            node.signal(signal.SIGSTOP)

    def _end_pbx_cluster_down(self) -> None:
        for node in self.lab.pbx:
            node.signal(signal.SIGCONT)

    def _begin_lines_down(self) -> None:
        for trunk in ("trunk-a", "trunk-b"):
            self.lab.relay(trunk).impairment.down = True

    def _end_lines_down(self) -> None:
        for trunk in ("trunk-a", "trunk-b"):
            self.lab.relay(trunk).impairment.down = False

    def _begin_slow_network(self) -> None:
        self._emu({"cmd": "set_fault", "faults": {"latency": 3.0}})
        for relay in self.lab.proxies.proxies:
            relay.impairment.delay_s = 0.15

    def _end_slow_network(self) -> None:
        self._emu({"cmd": "set_fault", "faults": {"latency": self.lab.settings.latency_s}})
        for relay in self.lab.proxies.proxies:
            relay.impairment.delay_s = 0.0

    def _begin_handset_off(self) -> None:
        for number in list(self.lab.plan.handsets.on):
            self.lab.plan.handsets.switch(number, False)

    def _end_handset_off(self) -> None:
        for number in list(self.lab.plan.handsets.on):
            self.lab.plan.handsets.switch(number, True)

    # ---- the GSM side --------------------------------------------------------------------------
    def _emu(self, request: dict[str, object]) -> None:
        answer = control(self.lab.cluster.control_port, request)
        if not answer.get("ok"):
            self.notes.append(f"emulator refused {request}: {answer}")

    def _begin_carrier_down(self) -> None:
        self._emu({"cmd": "set_fault", "faults": {"no_network": True}})
        self._emu({"cmd": "set_network", "registration": 0})

    def _end_carrier_down(self) -> None:
        self._emu({"cmd": "set_network", "registration": 1})
        self._emu({"cmd": "set_fault", "faults": {"no_network": False}})

    def _begin_modem_errors(self) -> None:
        """The next forwarding commands (writes and queries) fail: no network service."""
        done = control(self.lab.cluster.control_port, {"cmd": "attempts"})["attempts"]
        n = int(done.get("+CCFC", 0))
        errors = [{"command": "+CCFC", "attempt": n + i, "code": 30} for i in range(1, 4)]
        self._emu({"cmd": "set_fault", "faults": {"errors": errors}})

    def _end_modem_errors(self) -> None:
        self._emu({"cmd": "set_fault", "faults": {"errors": []}})

    def _begin_smtp_hung(self) -> None:
        self.lab.smtp.hang()

    def _end_smtp_hung(self) -> None:
        self.lab.smtp.unhang()

    def _begin_modem_disconnect(self) -> None:
        self._emu({"cmd": "drop"})

    # ---- alerts' peers -------------------------------------------------------------------------
    def _begin_smtp_down(self) -> None:
        self.lab.smtp.stop()

    def _end_smtp_down(self) -> None:
        self.lab.smtp.start()

    def _begin_twilio_500(self) -> None:
        if self.lab.twilio is not None:
            self.lab.twilio.server.mode = "500"

    def _end_twilio_500(self) -> None:
        if self.lab.twilio is not None:
            self.lab.twilio.server.mode = "201"

    # ---- the cluster ---------------------------------------------------------------------------
    def _leader(self) -> str | None:
        return self.lab.watch.current_leader()

    def _begin_leader_sigkill(self) -> None:
        self.victim = self._leader()
        if self.victim in self.lab.cluster.alive():
            self.lab.cluster.signal(self.victim, signal.SIGKILL)

    def _end_leader_sigkill(self) -> None:
        if self.victim is not None:
            self.lab.cluster.procs[self.victim].wait(10)
            self.lab.cluster.start(self.victim)

    def _begin_leader_sigstop(self) -> None:
        self.victim = self._leader()
        if self.victim in self.lab.cluster.alive():
            self.lab.cluster.signal(self.victim, signal.SIGSTOP)

    def _end_leader_sigstop(self) -> None:
        if self.victim is not None:
            self.lab.cluster.signal(self.victim, signal.SIGCONT)

    def _begin_cluster_down(self) -> None:
        for name in self.lab.cluster.alive():
            self.lab.cluster.signal(name, signal.SIGKILL)

    def _end_cluster_down(self) -> None:
        for proc in self.lab.cluster.procs.values():
            proc.wait(10)
        self.lab.cluster.start()

    def _begin_rolling_restart(self) -> None:
        cluster = self.lab.cluster
        for name in cluster.names:
            cluster.procs[name].send_signal(signal.SIGTERM)
            cluster.procs[name].wait(30)
            cluster.start(name)
            with contextlib.suppress(AssertionError, TimeoutError):
                cluster.one_leader(cluster.session_s * 6)

    def _begin_manual_failovers(self) -> None:
        """Two operators at once, through different nodes, asking for different routes."""
        cluster = self.lab.cluster
        names = cluster.alive()[:2]
        answers: list[str] = []

        def ask(node: str, route: str) -> None:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{cluster.ports[node]}/v1/failover",
                    json={"to": route, "reason": f"lab: concurrent failover via {node}",
                          "ttl_s": 60},
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                    timeout=30,
                )  # fmt: skip
                answers.append(f"{node}->{route}: {r.status_code}")
            except httpx.HTTPError as exc:
                answers.append(f"{node}->{route}: {type(exc).__name__}")

        threads = [
            threading.Thread(target=ask, args=(n, r))
            for n, r in zip(names, ("secondary", "primary"), strict=False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        self.notes.append("manual failovers: " + ", ".join(answers))
        time.sleep(5)
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"http://127.0.0.1:{cluster.ports[names[0]]}/v1/failback",
                json={"reason": "lab: end of the concurrent failovers"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=30,
            )

    def _begin_zk_server_down(self) -> None:
        zk = self.lab.zk
        server = zk.leader() or zk.servers[0]
        self.stopped_zk = [zk.servers.index(server)]
        server.stop(kill=True)

    def _end_zk_server_down(self) -> None:
        self._restart_zk()

    def _begin_zk_quorum_lost(self) -> None:
        zk = self.lab.zk
        self.stopped_zk = [0, 1]
        for i in self.stopped_zk:
            zk.servers[i].stop(kill=True)

    def _end_zk_quorum_lost(self) -> None:
        self._restart_zk()

    def _restart_zk(self) -> None:
        zk = self.lab.zk
        for i in self.stopped_zk:
            zk.servers[i].start()
        with contextlib.suppress(TimeoutError):
            zk.wait_serving(30)
        self.stopped_zk = []
