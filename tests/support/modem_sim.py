"""The command line that starts ``hotline modem-sim`` as its own process for a lab or test."""

from __future__ import annotations

import sys
from pathlib import Path

PIN_ENV = "LAB_PIN"  # the environment variable the simulator reads its PIN from


def modem_sim_argv(
    *, serve: list[str], control_port: int, latency_s: float, transcript: Path | None = None
) -> list[str]:
    """``serve`` is where it serves the modem: ``["--listen", "127.0.0.1:PORT"]`` or
    ``["--pty", PATH]``; the PIN comes from ``$LAB_PIN``; ``latency_s`` is the emulated network's
    time per operation."""
    argv = [sys.executable, "-m", "controller", "modem-sim", *serve]
    argv += ["--control", f"127.0.0.1:{control_port}", "--pin-env", PIN_ENV]
    argv += ["--latency", f"{latency_s:g}"]
    if transcript is not None:
        argv += ["--transcript", str(transcript)]
    return argv
