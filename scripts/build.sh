#!/usr/bin/env bash
# Configures (Release unless BUILD_TYPE says otherwise) and builds wsgate and its tests in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >/dev/null
ninja -C "$build_dir" -j"${JOBS:-2}"
