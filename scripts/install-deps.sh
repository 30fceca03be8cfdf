#!/usr/bin/env bash
# Installs, from Debian 12's apt, whatever wsgate needs to build, test (clang 14 and its sanitizer
# and libFuzzer runtimes included) and run its demo, and the
# npm packages its tests and demo backends use. Installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# --bench adds the peers and tools of bench/run.py (NGINX, gnuplot, perf; HAProxy the tests need too).
with_bench=0
if [[ ${1:-} == --bench ]]; then with_bench=1; fi

packages=(
  g++ cmake ninja-build pkg-config openssl python3
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev prometheus-cpp-dev libhiredis-dev libnghttp2-dev libc-ares-dev
  libgtest-dev libbenchmark-dev redis-server prometheus dnsmasq-base haproxy
  clang-14 libclang-rt-14-dev llvm-14 python3-h2 python3-yaml curl
  chromium
)
if ((with_bench)); then packages+=(nginx gnuplot-nox linux-perf strace); fi
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # Debian starts redis-server and prometheus (and nginx, haproxy) as services on install; the tests and the
  # benchmark start their own, on loopback and free ports, so keep the packages from starting
  # anything (policy-rc.d).
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if ((created_policy)); then "${sudo_cmd[@]}" rm -f "$policy"; fi
fi

# Test clients and demo backends (ws, socket.io), pinned by tests/package-lock.json.
if [[ ! -d tests/node_modules ]] || [[ tests/package-lock.json -nt tests/node_modules ]]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
