#!/usr/bin/env bash
# The one test command: installs what is missing, builds, and runs every test through CTest
# (unit tests, then integration tests against the real binary, real backends, real clients).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
