#!/usr/bin/env bash
# The one test command: installs what is missing, builds, and runs every test through CTest, three
# times over:
#   1. build/ (Release, GCC): unit tests, integration tests against the real binary with real
#      backends and clients, and a 5-second benchmark smoke run;
#   2. build-asan/ (clang 14, AddressSanitizer + UndefinedBehaviorSanitizer): the same suite, plus
#      every libFuzzer target for a fixed number of inputs (label fuzz);
#   3. build-tsan/ (clang 14, ThreadSanitizer): the tests labelled `threaded`.
# A sanitizer report fails the test that saw it. WSGATE_TEST_SANITIZERS=0 runs only the first, for
# a quick local loop. Arguments go to every ctest run (e.g. -R relay).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

run_ctest() {
  local dir=$1
  shift
  echo "== ctest in $dir"
  (cd "$dir" && ctest --output-on-failure -j2 "$@")
}

scripts/build.sh
run_ctest build "$@"
[[ ${WSGATE_TEST_SANITIZERS:-1} == 0 ]] && exit 0

symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
export CC=clang-14 CXX=clang++-14 BUILD_TYPE=RelWithDebInfo
BUILD_DIR=build-asan scripts/build.sh -DWSGATE_FUZZ=ON -DWSGATE_BENCH=OFF
WSGATE_SANITIZER=address ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:external_symbolizer_path=$symbolizer \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:external_symbolizer_path=$symbolizer \
  run_ctest build-asan -LE soak "$@"

BUILD_DIR=build-tsan scripts/build.sh -DWSGATE_SANITIZE=thread -DWSGATE_BENCH=OFF
WSGATE_SANITIZER=thread TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:external_symbolizer_path=$symbolizer \
  run_ctest build-tsan -L threaded "$@"
