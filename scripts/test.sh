#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: set-up (idempotent), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/test_decision.py -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
