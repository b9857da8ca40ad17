"""Real peers for the health tests, started on 127.0.0.1 with free ports in a temp dir.

sipp (OPTIONS UAS from a scenario file), Kamailio (a minimal cfg answering OPTIONS), and net-snmp
snmpd (private config, v2c and v3). Each is a child process in its own session, stopped at the end
of the module that uses it. Readiness is checked by probing, with a bounded wait.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SCENARIOS = HERE / "sipp"
READY_WAIT_S = 10.0


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP right now (peers listen on both for some tests)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        with socket.socket(socket.AF_INET, other) as s2:
            try:
                s2.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


@dataclass
class Peer:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path

    def pause(self) -> None:
        """Silence on demand: the peer stops answering (no ICMP: its socket stays open)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _need(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{tool} is not installed (scripts/apt-packages.txt installs it)")
    return path


def _sip_answers(port: int, transport: str = "udp") -> bool:
    from health.probes import ProbeContext
    from health.probes.sip import SipProbe
    from health.specs import SipProbeSpec

    async def once() -> bool:
        ctx = ProbeContext()
        try:
            uri = f"sip:127.0.0.1:{port};transport={transport}"
            probe = SipProbe(SipProbeSpec(type="sip", uri=uri), ctx)
            return (await probe.exchange(0.3)).response is not None
        finally:
            await ctx.close()

    return asyncio.run(once())


def wait_sip(peer: Peer, transport: str = "udp") -> None:
    deadline = time.monotonic() + READY_WAIT_S
    while time.monotonic() < deadline:
        if peer.proc.poll() is not None:
            raise RuntimeError(f"peer exited early: {(peer.workdir / 'peer.log').read_text()}")
        if _sip_answers(peer.port, transport):
            return
        time.sleep(0.1)
    peer.stop()
    raise RuntimeError(f"peer not answering on {peer.port}")


def start_sipp(workdir: Path, scenario: str, transport: str = "udp") -> Peer:
    """sipp as an OPTIONS UAS (``-t u1`` UDP or ``-t t1`` TCP) running ``scenario``."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        _need("sipp"),
        "-sf",
        str(SCENARIOS / scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-cp",
        str(free_port()),
        "-t",
        "t1" if transport == "tcp" else "u1",
        "-nostdin",
        "-timeout",
        "600s",
        "-max_recv_loops",
        "1000",
    ]
    with (workdir / "peer.log").open("wb") as log:  # the child keeps its own copy of the fd
        proc = subprocess.Popen(
            argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    peer = Peer(proc, port, workdir)
    wait_sip(peer, transport)
    return peer


KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
listen=udp:127.0.0.1:{reject_port}
mpath="{modules}"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if ($Rp == {reject_port}) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if ($rm == "OPTIONS") {{
        sl_send_reply("200", "Keepalive");
        exit;
    }}
    sl_send_reply("501", "Not Implemented");
}}
"""


def _kamailio_modules() -> str:
    for candidate in Path("/usr/lib").glob("*/kamailio/modules"):
        if (candidate / "sl.so").exists():
            return str(candidate)
    return "/usr/lib/x86_64-linux-gnu/kamailio/modules"


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peer, int]]:
    """Kamailio: 200 to OPTIONS on ``peer.port`` (UDP+TCP), 405 on the second (UDP) port."""
    workdir = tmp_path_factory.mktemp("kamailio")
    port, reject_port = free_port(), free_port()
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(
        KAMAILIO_CFG.format(port=port, reject_port=reject_port, modules=_kamailio_modules())
    )
    argv = [
        _need("kamailio"),
        "-DD",
        "-E",
        "-f",
        str(cfg),
        "-Y",
        str(workdir),
        "-P",
        str(workdir / "kamailio.pid"),
        "-m",
        "32",
        "-M",
        "4",
    ]
    with (workdir / "peer.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    peer = Peer(proc, port, workdir)
    try:
        wait_sip(peer)
        yield peer, reject_port
    finally:
        peer.stop()


SNMPD_CONF = """rocommunity {community} 127.0.0.1
createUser {user} SHA "{auth}" AES "{priv}"
createUser {user}np SHA "{auth}"
rouser {user} priv
rouser {user}np auth
sysLocation hotline-lab
sysContact ops@example.org
pass_persist .1.3.6.1.4.1.99999.1 {python} {script}
"""

# pass_persist (snmpd(8)): one long-running helper answering PING / get / getnext on stdin.
# It serves .1.3.6.1.4.1.99999.1.1.0 = the integer in the file ``value`` (tests change it).
PASS_PERSIST = """import sys
from pathlib import Path
OID = ".1.3.6.1.4.1.99999.1.1.0"
value_file = Path(sys.argv[1])
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "PING":
        print("PONG", flush=True)
    elif cmd in ("get", "getnext"):
        oid = sys.stdin.readline().strip()
        if (cmd == "get" and oid == OID) or (cmd == "getnext" and oid < OID):
            print(OID, "integer", value_file.read_text().strip(), sep="\\n", flush=True)
        else:
            print("NONE", flush=True)
    elif cmd == "set":
        sys.stdin.readline(); sys.stdin.readline()
        print("not-writable", flush=True)
"""


@dataclass
class Snmpd:
    peer: Peer
    community: str = "lab-community-7"
    user: str = "probe"
    auth: str = "auth-pass-123"
    priv: str = "priv-pass-456"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    workdir = tmp_path_factory.mktemp("snmpd")
    info = Snmpd(peer=None)  # type: ignore[arg-type]
    port = free_port()
    (workdir / "value").write_text("5\n")
    script = workdir / "pass_persist.py"
    script.write_text(PASS_PERSIST)
    conf = workdir / "snmpd.conf"
    conf.write_text(
        SNMPD_CONF.format(
            community=info.community,
            user=info.user,
            auth=info.auth,
            priv=info.priv,
            python=sys.executable,
            script=f"{script} {workdir / 'value'}",
        )
    )
    argv = [
        _need("snmpd"),
        "-f",
        "-C",
        "-c",
        str(conf),
        "-m",
        "",
        "-Lo",
        f"udp:127.0.0.1:{port}",
    ]
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir), "MIBS": ""}
    with (workdir / "peer.log").open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    info.peer = Peer(proc, port, workdir)
    try:
        _wait_udp_answer(port)
        yield info
    finally:
        info.peer.stop()


def _wait_udp_answer(port: int) -> None:
    """snmpd is up when a v2c GET through our own probe succeeds."""
    from health.probes import ProbeContext, build_probe
    from health.specs import SnmpProbeSpec

    spec = SnmpProbeSpec.model_validate(
        {
            "type": "snmp",
            "host": "127.0.0.1",
            "port": port,
            "community": "lab-community-7",
            "checks": [{"oid": "1.3.6.1.2.1.1.6.0"}],
        }
    )

    async def once() -> bool:
        ctx = ProbeContext()
        try:
            return (await build_probe(spec, ctx).run(0.5)).ok
        finally:
            await ctx.close()

    deadline = time.monotonic() + READY_WAIT_S
    while time.monotonic() < deadline:
        if asyncio.run(once()):
            return
        time.sleep(0.1)
    raise RuntimeError("snmpd did not answer")


@pytest.fixture(scope="module")
def sipp_200(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_sipp(tmp_path_factory.mktemp("sipp200"), "options_200.xml")
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def sipp_503(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_sipp(tmp_path_factory.mktemp("sipp503"), "options_503.xml")
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def sipp_tcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_sipp(tmp_path_factory.mktemp("sipptcp"), "options_200.xml", "tcp")
    yield peer
    peer.stop()


def _request_headers(data: bytes) -> tuple[str, dict[str, str]]:
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def sip_reply(request: bytes, status: str = "200 OK", **override: str) -> bytes:
    """A response to ``request`` the way a UAS builds one (RFC 3261 §8.2.6), fields overridable."""
    _, h = _request_headers(request)
    fields = {
        "Via": h["via"],
        "From": h["from"],
        "To": h["to"] + ";tag=resp1",
        "Call-ID": h["call-id"],
        "CSeq": h["cseq"],
    }
    fields.update({k.replace("_", "-"): v for k, v in override.items()})
    lines = [f"SIP/2.0 {status}", *(f"{k}: {v}" for k, v in fields.items()), "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class ScriptedUdpPeer(asyncio.DatagramProtocol):
    """A misbehaving SIP peer on loopback: ``script(request) -> [(delay_s, datagram), ...]``."""

    def __init__(self, script: object) -> None:
        self.script = script
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        loop = asyncio.get_running_loop()
        for delay, reply in self.script(data):  # type: ignore[operator]
            loop.call_later(delay, self._send, reply, addr)

    def _send(self, reply: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


async def start_scripted_udp(script: object) -> tuple[ScriptedUdpPeer, int]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: ScriptedUdpPeer(script), local_addr=("127.0.0.1", 0)
    )
    return proto, int(transport.get_extra_info("sockname")[1])


@pytest.fixture
async def scripted_udp() -> object:
    peers: list[ScriptedUdpPeer] = []

    async def factory(script: object) -> tuple[ScriptedUdpPeer, int]:
        proto, port = await start_scripted_udp(script)
        peers.append(proto)
        return proto, port

    yield factory
    for p in peers:
        if p.transport is not None:
            p.transport.close()


@pytest.fixture
def reply() -> object:
    """``sip_reply`` for test modules (conftest is not importable by name)."""
    return sip_reply
