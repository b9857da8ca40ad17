"""Where a modem URL points: a serial device this host owns, or a port reached over the network."""

from __future__ import annotations

_REMOTE = ("rfc2217://", "socket://", "loop://", "spy://", "hwgrep://")


def is_local_device(url: str) -> bool:
    """A serial device this host owns (``/dev/ttyUSB2``, ``COM3``), not one reached over TCP
    (``rfc2217://``, ``socket://``: ser2net) nor a pyserial test URL (``loop://``)."""
    if url.startswith(_REMOTE):
        return False
    return url.startswith("/dev/") or url.upper().startswith("COM")
