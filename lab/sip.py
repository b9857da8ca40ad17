"""Real SIP for the chaos lab: Kamailio as each trunk's SBC, sipp UASes as the PBX nodes, and
one sipp UAC per forwarded call.

- A **PBX node** is ``sipp -sf lab/sipp_pbx_node.xml``: it answers INVITE with 200 (ACK, then
  the caller's BYE, 200) and OPTIONS with 200, so the controller's SIP probe sees it alive.
- A **trunk** is a Kamailio (LAB-RECIPES) that answers OPTIONS itself and relays an INVITE to
  the PBX nodes through the dispatcher (round robin, failover to the next node on 408/5xx,
  ``fr_timer`` 1.5 s); in-dialog ACK/BYE go on to the PBX node named in the 200's Contact.
- A **call** is ``sipp -sf lab/sipp_caller.xml -m 1``: INVITE to the line's number at the trunk,
  200, ACK, ``hold_s`` of call, BYE. It logs ``ANSWERED`` when the 200 arrived: reached.

Faults are applied in front of the trunks by :mod:`lab.udp_proxy` (loss, silence, delay) and to
the PBX nodes by SIGSTOP/SIGCONT. Every process binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).parent  # sipp_caller.xml, sipp_pbx_node.xml (package data)
MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=2
listen=udp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "dispatcher.so"
loadmodule "maxfwd.so"
modparam("tm", "fr_timer", 1500)
modparam("tm", "fr_inv_timer", 5000)
modparam("dispatcher", "list_file", "{dir}/dispatcher.list")
modparam("dispatcher", "xavp_dst", "_dsdst_")
modparam("dispatcher", "xavp_ctx", "_dsctx_")
modparam("dispatcher", "flags", 2)
request_route {{
    force_rport();
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        # The ACK of a negative final answer belongs to our INVITE transaction: tm absorbs it.
        # Relayed on, its R-URI (this trunk's public address) would loop back to us.
        if (is_method("ACK") && t_check_trans()) exit;
        if (is_method("ACK")) {{ forward(); exit; }}
        t_relay();
        exit;
    }}
    if (is_method("OPTIONS")) {{  # keepalives from the carrier's side, any R-URI
        sl_send_reply("200", "OK");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!ds_select_dst("1", "4", "4")) {{ sl_send_reply("503", "No PBX node"); exit; }}
    t_on_failure("NEXT_PBX");
    t_relay();
}}
failure_route[NEXT_PBX] {{
    if (t_is_canceled()) exit;
    if (t_check_status("408|5[0-9][0-9]") && ds_next_dst()) {{
        t_on_failure("NEXT_PBX");
        t_relay();
    }}
}}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )


@dataclass
class Process:
    """A peer process in its own session: signals go to it only."""

    name: str
    proc: subprocess.Popen[bytes] | None = None

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def start(self, run: Path) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None


@dataclass
class PbxNode(Process):
    port: int = 0

    def start(self, run: Path) -> None:
        self.port = self.port or free_udp_port()
        argv = ["sipp", "-sf", str(SCENARIOS / "sipp_pbx_node.xml"), "-i", "127.0.0.1"]
        argv += ["-p", str(self.port), "-cp", str(free_udp_port()), "-nostdin"]
        self.proc = _spawn(argv, run / f"{self.name}.log", run)

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port};transport=udp"


@dataclass
class Trunk(Process):
    """A Kamailio SBC relaying calls to ``pbx`` nodes; ``port`` is where it listens itself."""

    pbx: list[PbxNode] = field(default_factory=list)
    port: int = 0

    def start(self, run: Path) -> None:
        d = run / self.name
        d.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_udp_port()
        (d / "dispatcher.list").write_text(
            "".join(f"1 sip:127.0.0.1:{n.port} 0 0\n" for n in self.pbx)
        )
        cfg = KAMAILIO_CFG.format(port=self.port, modules=MODULES, dir=d)
        (d / "kamailio.cfg").write_text(cfg)
        argv = ["kamailio", "-DD", "-E", "-f", str(d / "kamailio.cfg"), "-Y", str(d)]
        argv += ["-P", str(d / "kamailio.pid"), "-m", "64", "-M", "8"]
        self.proc = _spawn(argv, run / f"{self.name}.log", d)


def wait_options(port: int, timeout: float = 15.0) -> None:
    """Until a SIP OPTIONS to 127.0.0.1:``port`` is answered (a peer is up)."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n += 1
        if options_ok(port, f"lab-ready-{n}"):
            return
        time.sleep(0.1)
    raise TimeoutError(f"no SIP answer on 127.0.0.1:{port} within {timeout}s")


def options_ok(port: int, call_id: str, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        me = s.getsockname()[1]
        msg = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id};rport\r\n"
            f"From: <sip:lab@127.0.0.1>;tag={call_id}\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        s.sendto(msg.encode(), ("127.0.0.1", port))
        with contextlib.suppress(OSError):
            return s.recv(4096).startswith(b"SIP/2.0 200")
    return False


@dataclass(frozen=True)
class CallResult:
    reached: bool
    detail: str  # "answered", or the first lines of what sipp saw
    setup_s: float  # time from sending INVITE to the answer (or to giving up)


def place_call(
    port: int, did: str, caller: str, run: Path, *, hold_s: float = 2.0, timeout_s: float = 12.0
) -> CallResult:
    """One real SIP call to ``did`` at 127.0.0.1:``port`` (a trunk); blocks until it ends."""
    tag = f"{caller.lstrip('+')}-{time.monotonic_ns()}"
    log = run / f"call-{tag}.log"
    argv = ["sipp", "-sf", str(SCENARIOS / "sipp_caller.xml"), "-i", "127.0.0.1"]
    argv += ["-p", str(free_udp_port()), "-cp", str(free_udp_port()), "-nostdin"]
    argv += ["-s", did, "-key", "caller", caller, "-d", str(int(hold_s * 1000)), "-m", "1"]
    argv += ["-timeout", f"{int(timeout_s + hold_s + 4)}s", "-recv_timeout", f"{timeout_s:g}s"]
    argv += ["-trace_logs", "-log_file", str(log), f"127.0.0.1:{port}"]
    t0 = time.monotonic()
    out = subprocess.run(
        argv, capture_output=True, timeout=timeout_s + hold_s + 10, check=False, cwd=run
    )
    took = time.monotonic() - t0
    text = log.read_text(errors="replace") if log.exists() else ""
    with contextlib.suppress(FileNotFoundError):
        log.unlink()
    if "ANSWERED" in text:
        return CallResult(True, "answered", took - hold_s)
    said = (out.stderr + out.stdout).decode(errors="replace")
    status = re.search(r"received 'SIP/2\.0 (\d{3})", said)
    detail = f"SIP {status.group(1)}" if status else ("timeout" if took >= timeout_s else "error")
    return CallResult(False, detail, took)
