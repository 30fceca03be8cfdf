#!/usr/bin/env bash
# Configures (Release unless BUILD_TYPE says otherwise) and builds wsgate and its tests in build/
# (or BUILD_DIR). Arguments go to CMake: scripts/build.sh -DWSGATE_SANITIZE=address.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
ninja -C "$build_dir" -j"${JOBS:-2}"
