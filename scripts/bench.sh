#!/usr/bin/env bash
# The benchmark command: installs the peers (NGINX, HAProxy) and tools, builds in Release, and
# runs bench/run.py (arguments pass through: --rounds 5 --duration 8 ...). Writes
# bench/results/latest.{json,md,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench
BUILD_TYPE=Release scripts/build.sh
exec python3 bench/run.py "$@"
