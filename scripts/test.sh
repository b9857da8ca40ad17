#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: set-up (idempotent), the enforced tools (ruff
# lint, ruff format check, mypy --strict on the packages), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/test_decision.py -x); with arguments the
# tools are skipped unless HOTLINE_CHECKS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$#" -eq 0 ] || [ "${HOTLINE_CHECKS:-0}" = 1 ]; then
  echo "test.sh: ruff check, ruff format --check, mypy --strict controller health modem"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy --strict controller health modem
fi
exec .venv/bin/python -m pytest "$@"
