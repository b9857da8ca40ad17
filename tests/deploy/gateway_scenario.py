"""The modem gateway as the role rendered it, inside fresh network and mount namespaces.

Run with ``unshare -n -m``.

Loads the rendered nftables file, starts ser2net with the rendered config in front of a pty that
answers ``AT`` with ``OK`` (a stand-in for the USB modem), then connects once from an allowed
address (pyserial's RFC 2217 client, 127.0.0.1) and once from an address that is not on the
allow-list (a socket bound to 127.0.0.2). Prints one JSON object with what happened.

Usage: python gateway_scenario.py NFT_FILE SER2NET_YAML DEVICE_LINK PORT
Only loopback (and a veth pair) exists in the namespace; it disappears with this process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import serial


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def _fake_modem(master: int, stop: threading.Event) -> None:
    """Answer each CR-terminated line on the pty with OK, like a modem in echo-off mode."""
    pending = b""
    while not stop.is_set():
        try:
            pending += os.read(master, 256)
        except OSError:
            return
        while b"\r" in pending:
            _line, pending = pending.split(b"\r", 1)
            os.write(master, b"\r\nOK\r\n")


def _wait_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            out = _run("ss", "-Htln", f"sport = :{port}")
        except (subprocess.CalledProcessError, FileNotFoundError):
            out = ""
        if out.strip():
            return
        time.sleep(0.1)
    raise TimeoutError(f"ser2net is not listening on {port}")


def _allowed_client(port: int) -> str:
    url = f"rfc2217://127.0.0.1:{port}?ign_set_control"
    with serial.serial_for_url(url, baudrate=115200, timeout=3) as port_:
        port_.write(b"AT\r")
        reply = b""
        deadline = time.monotonic() + 5
        while b"OK" not in reply and time.monotonic() < deadline:
            reply += port_.read(16)
    return reply.decode(errors="replace")


def _other_client(port: int) -> str:
    with socket.socket() as sock:
        sock.settimeout(3)
        sock.bind(("127.0.0.2", 0))
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "timeout"
        return "connected"


def main() -> int:
    nft_file, ser2net_yaml, link, port_s = sys.argv[1:5]
    port = int(port_s)
    result: dict[str, object] = {}
    # ser2net writes UUCP lock files: keep them in this mount namespace (unshare -m).
    _run("mount", "-t", "tmpfs", "tmpfs", "/run/lock")
    _run("ip", "link", "set", "lo", "up")
    # getaddrinfo(AI_ADDRCONFIG), which ser2net uses, finds no IPv4 without a non-loopback
    # address: give the namespace one (a documentation address on a veth pair inside it).
    _run("ip", "link", "add", "hl0", "type", "veth", "peer", "name", "hl1")
    _run("ip", "addr", "add", "192.0.2.1/32", "dev", "hl0")
    _run("ip", "link", "set", "hl0", "up")
    _run("nft", "--file", nft_file)
    _run("nft", "--file", nft_file)  # reloading replaces the table, it does not add a second one
    result["ruleset"] = _run("nft", "list", "ruleset")

    master, slave = os.openpty()
    Path(link).symlink_to(os.ttyname(slave))
    stop = threading.Event()
    threading.Thread(target=_fake_modem, args=(master, stop), daemon=True).start()
    ser2net = subprocess.Popen(
        [
            "ser2net",
            "-n",
            "-d",
            "-c",
            ser2net_yaml,
            "-P",
            str(Path(ser2net_yaml).with_suffix(".pid")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(port, time.monotonic() + 10)
        result["other"] = _other_client(port)
        result["allowed"] = _allowed_client(port)
    except (OSError, TimeoutError, serial.SerialException) as exc:
        result["error"] = repr(exc)
    finally:
        stop.set()
        ser2net.terminate()
        try:
            _, err = ser2net.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            ser2net.kill()
            _, err = ser2net.communicate(timeout=5)
        result["ser2net_stderr"] = err[-2000:]
        os.close(master)
        os.close(slave)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
