#!/usr/bin/env bash
# Runs one libFuzzer target on its seed corpus without writing into it (new inputs go to a temporary
# folder); a crash leaves its input in the current folder (crash-*) and fails.
#   tests/fuzz/run.sh build-fuzz/tests/fuzz/jwt_fuzz tests/fuzz/corpus/jwt runs=20000
#   tests/fuzz/run.sh build-fuzz/tests/fuzz/jwt_fuzz tests/fuzz/corpus/jwt seconds=600
set -euo pipefail
target=$1 seeds=$2 limit=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $limit in
  runs=*) args=(-runs="${limit#runs=}") ;;
  seconds=*) args=(-max_total_time="${limit#seconds=}") ;;
  *) echo "limit: runs=N or seconds=N" >&2; exit 2 ;;
esac
# -rss_limit_mb: a leak or an unbounded allocation is a finding too.
exec "$target" "${args[@]}" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 "$work" "$seeds"
