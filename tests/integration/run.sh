#!/usr/bin/env bash
# Runs one integration test file under node's test runner for CTest, keeping what a flake needs to
# be diagnosed after the fact: the runner's output and every wsgate log of the run stay in
# ARTIFACTS (BUILD/Testing/integration/NAME) when the test fails, and are removed when it passes.
#   tests/integration/run.sh ARTIFACTS tests/integration/relay.test.mjs
set -uo pipefail
artifacts=$1 test_file=$2
rm -rf "$artifacts"
mkdir -p "$artifacts"
export WSGATE_TEST_ARTIFACTS=$artifacts
node --test --test-reporter=spec "$test_file" 2>&1 | tee "$artifacts/node-test.log"
rc=${PIPESTATUS[0]}
if ((rc == 0)); then
  rm -rf "$artifacts"
else
  echo "kept for diagnosis: $artifacts (node-test.log, gateway-*.log)"
fi
exit "$rc"
