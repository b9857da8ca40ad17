"""A throwaway ZooKeeper ensemble on loopback, for tests, benchmarks and lab demos.

Runs Debian's ZooKeeper (``QuorumPeerMain``) directly, one JVM per server, each in its own session
(so a test's signals never hit it by accident) and its own temp directory, on free 127.0.0.1
ports, with a short tick so session timeouts of a second or two are allowed (the server clamps a
client's timeout to [2, 20] × tickTime). Ready when every server answers ``ruok`` with ``imok``
and the ensemble reports a leader (``srvr``). Nothing here is used by the running controller.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

JARS = (
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-log4j12.jar",
    "log4j-1.2.jar",
)
JAVA_DIR = Path("/usr/share/java")
LOG4J = """log4j.rootLogger=WARN, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p %c{1}: %m%n
"""


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; held open together so they are distinct."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def four_letter(port: int, word: str, timeout: float = 0.5) -> str:
    """Send a four-letter command (``ruok``, ``srvr``, ``mntr``); '' when nobody answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            for _ in range(64):  # bounded: a reply is a few hundred bytes
                data = s.recv(4096)
                if not data:
                    break
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def available() -> bool:
    return all((JAVA_DIR / j).exists() for j in JARS) and _java() is not None


def _java() -> str | None:
    for cand in ("/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"):
        if os.access(cand, os.X_OK):
            return cand
    return None


@dataclass
class ZkServer:
    myid: int
    dir: Path
    client_port: int
    peer_port: int
    election_port: int
    proc: subprocess.Popen[bytes] | None = None
    java_props: tuple[str, ...] = ()  # -D system properties, kept across restarts

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def write_config(self, peers: list[ZkServer], tick_ms: int) -> None:
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"tickTime={tick_ms}",
            "initLimit=10",
            "syncLimit=5",
            f"dataDir={data}",
            f"clientPort={self.client_port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr,mntr",
            "maxClientCnxns=200",
        ]
        if len(peers) > 1:
            (data / "myid").write_text(f"{self.myid}\n")
            lines += [f"server.{p.myid}=127.0.0.1:{p.peer_port}:{p.election_port}" for p in peers]
        (self.dir / "zoo.cfg").write_text("\n".join(lines) + "\n")
        (self.dir / "log4j.properties").write_text(LOG4J)

    def start(self) -> None:
        cp = ":".join([str(self.dir), *(str(JAVA_DIR / j) for j in JARS)])
        cmd = [
            _java() or "java",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            *(f"-D{prop}" for prop in self.java_props),
            "-cp",
            cp,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(self.dir / "zoo.cfg"),
        ]
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir
        )
        log.close()

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, kill: bool = False) -> None:
        """Stop the JVM (SIGKILL when ``kill``, else SIGTERM then SIGKILL after 5 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.signal(signal.SIGCONT)  # a stopped JVM cannot act on SIGTERM
            self.signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def mode(self) -> str:
        """'leader', 'follower', 'standalone', or '' when not serving."""
        for line in four_letter(self.client_port, "srvr").splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return ""


@dataclass
class ZkEnsemble:
    """``size`` servers (1: standalone) under ``base``; ``start()`` waits until it serves.

    ``super_digest`` (``user:BASE64``, kazoo's ``make_digest_acl_credential``) sets
    ``zookeeper.DigestAuthenticationProvider.superDigest``: that identity bypasses every ACL, as
    the zookeeper role's admin identity does. None (the default) leaves the servers as they were.
    """

    base: Path
    size: int = 1
    tick_ms: int = 200
    super_digest: str | None = None
    servers: list[ZkServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = free_ports(3 * self.size)
        for i in range(self.size):
            d = self.base / f"zk{i + 1}"
            d.mkdir(parents=True, exist_ok=True)
            client, peer, election = ports[3 * i : 3 * i + 3]
            self.servers.append(ZkServer(i + 1, d, client, peer, election))
        for s in self.servers:
            s.write_config(self.servers, self.tick_ms)
            if self.super_digest is not None:
                prop = "zookeeper.DigestAuthenticationProvider.superDigest"
                s.java_props = (f"{prop}={self.super_digest}",)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(s.host for s in self.servers)

    def start(self, timeout: float = 30.0) -> ZkEnsemble:
        for s in self.servers:
            s.start()
        self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout: float = 30.0, servers: list[ZkServer] | None = None) -> None:
        """Until each given server (default: all running ones) serves in a quorum."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = servers or [s for s in self.servers if s.proc is not None]
            if live and all(s.mode() in ("leader", "follower", "standalone") for s in live):
                return
            time.sleep(0.1)
        logs = {
            s.myid: (s.dir / "server.log").read_text(errors="replace")[-2000:] for s in self.servers
        }
        raise TimeoutError(f"ZooKeeper ensemble not serving within {timeout}s: {logs}")

    def leader(self) -> ZkServer | None:
        return next((s for s in self.servers if s.mode() in ("leader", "standalone")), None)

    def stop(self) -> None:
        for s in self.servers:
            with contextlib.suppress(Exception):
                s.stop(kill=True)

    def __enter__(self) -> ZkEnsemble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
