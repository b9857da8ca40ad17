"""A plain ``pip install`` (no extras) into a fresh virtualenv, then every kind of probe the config
accepts, run through that virtualenv's own ``hotline`` against real peers.

The suite's own environment has the test extras, which pull in packages a user's install does not
get (issue 19: pysnmp 7 needs ``cryptography`` for SNMPv3 privacy but declares it only for its own
development extra). Here nothing but ``pip install <sources>`` is installed, so a runtime
dependency missing from ``pyproject.toml`` fails a probe or an import. Peers: sipp (SIP over UDP
and TCP), a TLS SIP responder with a self-signed certificate from ``openssl``, net-snmp ``snmpd``
with a v3 user per accepted authentication and privacy protocol, an HTTP server, a TCP listener,
a command, and the modem emulator started from the same virtualenv (``hotline modem-sim``).

The last test removes ``cryptography`` from that virtualenv and shows the SNMPv3 privacy probe
failing, so this module is known to catch the gap it was written for.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.health.conftest import Peer, _need, free_port, sip_reply, start_sipp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "controller", "health", "modem", "logsafe")
OID = "1.3.6.1.2.1.1.6.0"  # sysLocation
COMMUNITY = "lab-community-7"
AUTH_KEY, PRIV_KEY = "auth-pass-123", "priv-pass-456"

# Each protocol the config accepts (health/specs.py SnmpV3User), and net-snmp's name for the same
# algorithm. pysnmp's AES192/AES256 extend the localized key the way Cisco does (Reeder draft),
# which net-snmp calls AES-192-C / AES-256-C; its plain AES-192 is the Blumenthal draft.
AUTH = {"MD5": "MD5", "SHA": "SHA", "SHA256": "SHA-256", "SHA512": "SHA-512"}
PRIV = {"DES": "DES", "AES": "AES", "AES192": "AES-192-C", "AES256": "AES-256-C"}


@dataclass(frozen=True)
class Venv:
    root: Path

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
        """Run a program of the venv with a clean environment (no PYTHONPATH into the repo)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
        return subprocess.run(
            [self.bin(argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**base, **(env or {})},
        )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The project's sources copied out (no build files in the work tree), installed plainly."""
    tmp = tmp_path_factory.mktemp("clean-install")
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=skip)
        else:
            shutil.copy2(path, src / name)
    root = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
    done = subprocess.run(
        [str(root / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(src)],
        capture_output=True,
        text=True,
        timeout=480,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Venv(root)


# ---- peers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sipp_udp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_sipp(tmp_path_factory.mktemp("sipp-udp"), "options_200.xml")
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def sipp_tcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    peer = start_sipp(tmp_path_factory.mktemp("sipp-tcp"), "options_200.xml", "tcp")
    yield peer
    peer.stop()


class _Background:
    """An asyncio loop in a thread, for the TLS SIP responder."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _answer_options(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:  # one OPTIONS after another on the same connection, until the client closes
            request = await reader.readuntil(b"\r\n\r\n")
            writer.write(sip_reply(request))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture(scope="module")
def sip_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A SIP-over-TLS responder (RFC 3261 §26: sips, port from the URI) and its CA file."""
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [_need("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    bg = _Background()
    server = bg.call(asyncio.start_server(_answer_options, "127.0.0.1", 0, ssl=ctx))
    try:
        yield server.sockets[0].getsockname()[1], d / "cert.pem"
    finally:
        server.close()
        bg.close()


def _snmpd_conf() -> str:
    lines = [f"rocommunity {COMMUNITY} 127.0.0.1", "sysLocation hotline-lab"]
    for name, ours in AUTH.items():
        lines.append(f'createUser auth{name} {ours} "{AUTH_KEY}" AES "{PRIV_KEY}"')
        lines.append(f"rouser auth{name} priv")
    for name, ours in PRIV.items():
        lines.append(f'createUser priv{name} SHA "{AUTH_KEY}" {ours} "{PRIV_KEY}"')
        lines.append(f"rouser priv{name} priv")
    lines += [f'createUser noPriv SHA "{AUTH_KEY}"', "rouser noPriv auth"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory, venv: Venv) -> Iterator[int]:
    """net-snmp snmpd (only our config, no MIBs, its state in the temp dir); yields the port."""
    workdir = tmp_path_factory.mktemp("snmpd")
    (workdir / "snmpd.conf").write_text(_snmpd_conf())
    port = free_port()
    argv = [_need("snmpd"), "-f", "-C", "-c", str(workdir / "snmpd.conf"), "-m", ""]
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir), "MIBS": ""}
    with (workdir / "peer.log").open("wb") as log:
        proc = subprocess.Popen(
            [*argv, "-Lo", f"udp:127.0.0.1:{port}"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    peer = Peer(proc, port, workdir)
    try:
        for _ in range(50):  # up when a v2c GET answers; bounded (50 × ≤ 0.7 s)
            if _snmp(venv, port, "--community", COMMUNITY, timeout="0.5").returncode == 0:
                break
            time.sleep(0.2)
        yield port
    finally:
        peer.stop()


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hotline ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# ---- the probes, through the venv's CLI ------------------------------------------------------


def _snmp(venv: Venv, port: int, *args: str, timeout: str = "2") -> Any:
    keys = {"HOTLINE_SNMP_AUTH_KEY": AUTH_KEY, "HOTLINE_SNMP_PRIV_KEY": PRIV_KEY}
    return venv.run(
        "hotline", "probe", "snmp", f"127.0.0.1:{port}", OID, "--timeout", timeout, *args, env=keys
    )


def test_entry_points_and_every_module_import(venv: Venv) -> None:
    for argv in (
        ["hotline", "--help"],
        ["hotline", "modem-sim", "--help"],
        ["hotline", "run", "--help"],
        ["hotline", "demo", "--help"],
        ["hotline", "config", "schema"],
        ["hotline", "config", "check", str(ROOT / "examples" / "lab.yaml")],
    ):
        done = venv.run(*argv)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    # Every module of the three packages imports with the runtime dependencies alone.
    walk = (
        "import importlib, pkgutil\n"
        "for pkg in ('controller', 'health', 'modem', 'logsafe'):\n"
        "    root = importlib.import_module(pkg)\n"
        "    for m in pkgutil.walk_packages(root.__path__, pkg + '.'):\n"
        "        if not m.name.endswith('__main__'):\n"
        "            importlib.import_module(m.name)\n"
        "import aiosmtpd.controller, cryptography\n"  # imported lazily: the demo, pysnmp's priv
        "print('imported')\n"
    )
    done = venv.run("python", "-c", walk)
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr[-3000:]


def test_sip_over_udp_tcp_and_tls(
    venv: Venv, sipp_udp: Peer, sipp_tcp: Peer, sip_tls: tuple[int, Path]
) -> None:
    for uri in (
        f"sip:127.0.0.1:{sipp_udp.port};transport=udp",
        f"sip:127.0.0.1:{sipp_tcp.port};transport=tcp",
    ):
        done = venv.run("hotline", "probe", "sip", uri, "--json")
        assert done.returncode == 0, (uri, done.stdout, done.stderr)
    tls_port, _ = sip_tls
    tls = f"sip:127.0.0.1:{tls_port};transport=tls"
    done = venv.run("hotline", "probe", "sip", tls, "--no-verify")
    assert done.returncode == 0, done.stdout + done.stderr
    verified = venv.run("hotline", "probe", "sip", tls)  # our self-signed CA is not trusted
    assert verified.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in verified.stdout


def test_snmp_v2c_and_v3_with_each_protocol(venv: Venv, snmpd: int) -> None:
    results: dict[str, tuple[int, str]] = {}
    v2c = _snmp(venv, snmpd, "--community", COMMUNITY)
    results["v2c"] = (v2c.returncode, v2c.stdout + v2c.stderr)
    for name in AUTH:
        done = _snmp(venv, snmpd, "--v3-user", f"auth{name}", "--auth-protocol", name)
        results[f"auth {name} + AES"] = (done.returncode, done.stdout + done.stderr)
    for name in PRIV:
        done = _snmp(venv, snmpd, "--v3-user", f"priv{name}", "--priv-protocol", name)
        results[f"SHA + priv {name}"] = (done.returncode, done.stdout + done.stderr)
    no_priv = venv.run(
        "hotline", "probe", "snmp", f"127.0.0.1:{snmpd}", OID, "--v3-user", "noPriv",
        env={"HOTLINE_SNMP_AUTH_KEY": AUTH_KEY},
    )  # fmt: skip
    results["authNoPriv"] = (no_priv.returncode, no_priv.stdout + no_priv.stderr)
    failed = {k: v for k, v in results.items() if v[0] != 0 or "alive" not in v[1]}
    assert not failed, failed
    assert all(AUTH_KEY not in out and PRIV_KEY not in out for _, out in results.values())


def test_http_tcp_command_and_tls_from_a_config(
    venv: Venv, tmp_path: Path, http_port: int, sip_tls: tuple[int, Path]
) -> None:
    data = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    tls_port, ca = sip_tls
    probes = {
        "trunk-a": {"type": "http", "url": f"http://127.0.0.1:{http_port}/", "body_contains": "ok"},
        "trunk-b": {"type": "tcp", "host": "127.0.0.1", "port": http_port},
        "pbx-1": {"type": "command", "argv": ["/bin/sh", "-c", "exit 0"]},
        "pbx-2": {
            "type": "sip",
            "uri": f"sip:127.0.0.1:{tls_port};transport=tls",
            "tls_ca_file": str(ca),
        },
    }
    data["components"].pop("modem")  # probed through the driver below
    for name, probe in probes.items():
        data["components"][name].update(probes=[probe], rise=1, fall=1, interval_s=2, timeout_s=2)
    cfg = tmp_path / "probes.yaml"
    cfg.write_text(yaml.safe_dump(data))
    check = venv.run("hotline", "config", "check", str(cfg))
    assert check.returncode == 0, check.stdout + check.stderr
    done = venv.run("hotline", "probe", "run", "--config", str(cfg), "--once", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    states = json.loads(done.stdout)
    assert {n: s["status"] for n, s in states.items()} == dict.fromkeys(probes, "up")


MODEM_PROBE = """
import asyncio, sys
from health.probes import ProbeContext, build_probe
from health.specs import ModemProbeSpec
from modem.device import ModemDevice

async def main() -> None:
    device = ModemDevice(sys.argv[1], pin="1234")
    ctx = ProbeContext(device)
    try:
        result = await build_probe(ModemProbeSpec(type="modem"), ctx).run(10.0)
    finally:
        await ctx.close()
        await device.close()
    print(result.ok, result.reason)

asyncio.run(main())
"""


def test_modem_probe_and_cli_against_the_venvs_emulator(venv: Venv, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port, control = s.getsockname()[1], free_port(socket.SOCK_STREAM)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
    with (tmp_path / "sim.log").open("wb") as log:
        sim = subprocess.Popen(
            [venv.bin("hotline"), "modem-sim", "--listen", f"127.0.0.1:{port}",
             "--control", f"127.0.0.1:{control}", "--pin-env", "LAB_PIN", "--latency", "0.01"],
            stdout=log, stderr=subprocess.STDOUT, env={**base, "LAB_PIN": "1234"},
            start_new_session=True,
        )  # fmt: skip
    try:
        url = f"socket://127.0.0.1:{port}"
        for _ in range(100):  # bounded: ~10 s for the emulator to listen
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        probe = venv.run("python", "-c", MODEM_PROBE, url)
        assert probe.returncode == 0 and probe.stdout.startswith("True"), (
            probe.stdout + probe.stderr
        )
        info = venv.run("hotline", "modem", "--port", url, "info", env={"HOTLINE_SIM_PIN": "1234"})
        assert info.returncode == 0, info.stdout + info.stderr
    finally:
        os.killpg(sim.pid, signal.SIGTERM)
        sim.wait(10)


def test_without_cryptography_the_v3_privacy_probe_fails(venv: Venv, snmpd: int) -> None:
    """The gap this module guards (runs last: it changes the module's venv)."""
    removed = venv.run("pip", "uninstall", "--yes", "--quiet", "cryptography")
    assert removed.returncode == 0, removed.stderr
    done = _snmp(venv, snmpd, "--v3-user", "privAES", "--priv-protocol", "AES")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Ciphering services not available" in done.stdout + done.stderr
    v2c = _snmp(venv, snmpd, "--community", COMMUNITY)
    assert v2c.returncode == 0, v2c.stdout + v2c.stderr  # only privacy needs it
