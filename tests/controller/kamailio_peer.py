"""Start a real Kamailio on loopback for tests: dispatcher set 1 with two gateways, jsonrpcs over
xhttp on a free TCP port (LAB-RECIPES). ``start_kamailio(tmp)`` returns the RPC URL and a stop."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def _free(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The dispatcher's two gateways. Nothing listens there (Kamailio is not told to ping them); their
# ports are taken free at run time all the same, so no fixed port of the host is named.
with (
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as _a,
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as _b,
):
    _a.bind(("127.0.0.1", 0))
    _b.bind(("127.0.0.1", 0))  # both held at once: two different ports
    GW_A, GW_B = (f"sip:127.0.0.1:{s.getsockname()[1]}" for s in (_a, _b))


CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:{sip}
listen=tcp:127.0.0.1:{http}
tcp_accept_no_cl=yes
mpath="{modules}"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"
loadmodule "dispatcher.so"
modparam("tm", "fr_timer", 1000)
modparam("jsonrpcs", "transport", 1)
modparam("dispatcher", "list_file", "{dir}/dispatcher.list")
request_route {{
    sl_send_reply("404", "Not here");
}}
event_route[xhttp:request] {{
    if ($hu =~ "^/RPC") {{
        jsonrpc_dispatch();
    }} else {{
        xhttp_reply("404", "Not Found", "text/plain", "");
    }}
}}
"""


@dataclass
class Kamailio:
    url: str
    proc: subprocess.Popen[bytes]
    log: Any

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def rpc(self, method: str, *params: object) -> object:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())


def kamailio_available() -> bool:
    return shutil.which("kamailio") is not None and Path(MODULES, "dispatcher.so").exists()


def start_kamailio(tmp: Path) -> Kamailio:
    run = tmp / "kamailio"
    run.mkdir(parents=True, exist_ok=True)
    (run / "dispatcher.list").write_text(f"1 {GW_A} 0 10\n1 {GW_B} 0 5\n")
    http = _free(socket.SOCK_STREAM)
    cfg = CFG.format(sip=_free(socket.SOCK_DGRAM), http=http, modules=MODULES, dir=run)
    (run / "kamailio.cfg").write_text(cfg)
    log = open(run / "kamailio.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            "kamailio",
            "-DD",
            "-E",
            "-f",
            str(run / "kamailio.cfg"),
            "-Y",
            str(run),
            "-P",
            str(run / "kamailio.pid"),
            "-m",
            "32",
            "-M",
            "4",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    k = Kamailio(f"http://127.0.0.1:{http}/RPC", proc, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError((run / "kamailio.log").read_text()[-2000:])
        with contextlib.suppress(OSError):
            k.rpc("dispatcher.list")
            return k
        time.sleep(0.1)
    k.stop()
    raise RuntimeError("kamailio did not answer JSON-RPC within 15 s")
