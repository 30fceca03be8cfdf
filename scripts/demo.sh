#!/usr/bin/env bash
# The one demo command: installs what is missing, builds, creates development secrets, starts
# three demo backend workers (echo + broadcast chat) and wsgate on the shipped gateway.yaml.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/dev-secrets.sh certs

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

for i in 1 2 3; do
  node tests/backends/chat_backend.mjs --port "900$i" --name "worker-$i" >/dev/null &
  pids+=($!)
done
sleep 0.5

token=$(build/wsgate token --secret-file certs/dev.secret --sub demo-user --iss wsgate-dev \
         --aud wsgate --ttl 24h)

cat <<TXT

wsgate demo — three backend workers on 127.0.0.1:9001-9003, gateway on gateway.yaml

  chat (needs the token):  ws://127.0.0.1:8080/chat?access_token=$token
  echo (open):             ws://127.0.0.1:8080/echo
  TLS:                     wss://localhost:8443/chat?access_token=...  (self-signed certs/dev.crt)
  status page:             http://127.0.0.1:9100/   (API: /api/routes, /api/backends, /api/sessions)
  admin:                   http://127.0.0.1:9100/healthz   http://127.0.0.1:9100/readyz

  token (24 h, HS256, sub=demo-user):
    $token

  try:  node tests/clients/ws_client.mjs ws://127.0.0.1:8080/chat --token $token
        then type lines; 'whoami' answers with the worker's name
  more: build/wsgate token --secret-file certs/dev.secret --sub alice --iss wsgate-dev --aud wsgate

TXT
build/wsgate --config gateway.yaml &
pids+=($!)
wait "${pids[-1]}"
