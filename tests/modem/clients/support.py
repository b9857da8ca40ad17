"""What the real-client tests share: the long text, and finding a client binary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

LONG_CZECH = (
    "Příliš žluťoučký kůň úpěl ďábelské ódy. Hotline přesměrována na záložní linku, "
    "technik v pohotovosti byl upozorněn. Příliš žluťoučký kůň úpěl ďábelské ódy znovu."
)
"""A long Unicode text: UCS-2, more than 70 characters, so a concatenated SMS."""


def need(binary: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        pytest.skip(
            f"{binary} is not installed (scripts/apt-packages.txt lists it; setup installs it)"
        )
    return path
