#!/usr/bin/env bash
# Creates, where absent, the development certificate (ECDSA P-256: cheap handshakes, valid for
# localhost and 127.0.0.1), the development JWT secret and the affinity cookie's signing key that
# gateway.yaml refers to.
set -euo pipefail
dir=${1:-"$(dirname "$0")/../certs"}
mkdir -p "$dir"
if [[ ! -f $dir/dev.crt || ! -f $dir/dev.key ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -keyout "$dir/dev.key" -out "$dir/dev.crt" -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  chmod 600 "$dir/dev.key"
  echo "created $dir/dev.crt (self-signed, localhost)"
fi
if [[ ! -f $dir/dev.secret ]]; then
  (umask 077 && openssl rand -base64 48 | tr -d '\n' > "$dir/dev.secret")
  echo "created $dir/dev.secret"
fi
if [[ ! -f $dir/dev.affinity.key ]]; then
  (umask 077 && openssl rand -hex 32 | tr -d '\n' > "$dir/dev.affinity.key")
  echo "created $dir/dev.affinity.key"
fi
