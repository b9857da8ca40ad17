"""Write requirements.lock for a wheelhouse: every wheel pinned to its version and sha256.

Usage: python3 lock_wheelhouse.py WHEELHOUSE. The nodes install with
``pip install --no-index --find-links WHEELHOUSE --require-hashes -r WHEELHOUSE/requirements.lock``,
so nothing but these files, byte for byte, can be installed. Output is sorted: the same wheels
give the same file.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path


def lock(wheelhouse: Path) -> str:
    lines = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        name = re.sub(r"[-_.]+", "-", name).lower()
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    if not lines:
        raise SystemExit(f"{wheelhouse}: no wheels")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    house = Path(sys.argv[1])
    (house / "requirements.lock").write_text(lock(house))
