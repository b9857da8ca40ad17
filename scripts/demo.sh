#!/usr/bin/env bash
# The main job: set-up (idempotent), then the demo lab. Extra arguments go to `hotline`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ $# -gt 0 ]; then
  exec .venv/bin/hotline "$@"
fi
exec .venv/bin/hotline demo --script
