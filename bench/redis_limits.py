#!/usr/bin/env python3
"""Redis-mode rate limits (issue 6): decisions per second over one pipelined connection, and the
latency a Redis decision adds to an upgrade, against a real redis-server started here.

1. bench/redis_decisions with 1, 16, 64 and 256 decisions in flight (and 64 with a session cap,
   whose leases are released at once).
2. wsgate with three routes to the Beast echo backend: no policy, a local policy and the same policy
   with store: redis (limits high enough never to refuse). wsbench upgrade cycles (connect, upgrade,
   close) on each, one connection (latency) and ten (rate), in interleaved rounds; medians.

  bench/redis_limits.py [--rounds 3] [--duration 4]
Prints a Markdown table and writes bench/results/redis_limits.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from run import BIN, BUILD, CLIENT_CPU, PROXY_CPU, ROOT, Process, free_port, raise_nofile, wait_port

CONFIG = """threads: 1
log: {{ level: warn }}
listeners: [ {{ name: plain, bind: "127.0.0.1:{port}" }} ]
admin: {{ bind: "127.0.0.1:0" }}
redis: {{ address: "127.0.0.1:{redis_port}", timeout: 200ms }}
rate_limits:
  - {{ name: local, upgrades: {{ rate: 1000000000, per: 1s, burst: 1000000 }}, max_sessions: 1000000 }}
  - {{ name: shared, store: redis, upgrades: {{ rate: 1000000000, per: 1s, burst: 1000000 }}, max_sessions: 1000000 }}
routes:
  - {{ name: none, match: {{ path_prefix: /none }}, backends: [ "ws://127.0.0.1:{backend}" ] }}
  - {{ name: local, match: {{ path_prefix: /local }}, rate_limit: local, backends: [ "ws://127.0.0.1:{backend}" ] }}
  - {{ name: redis, match: {{ path_prefix: /redis }}, rate_limit: shared, backends: [ "ws://127.0.0.1:{backend}" ] }}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="wsgate-redis-bench-")
    procs = []
    try:
        redis_port = free_port()
        redis = Process("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no"], PROXY_CPU, d)
        procs.append(redis)
        wait_port(redis_port)

        decisions = []
        for inflight, cap in ((1, 0), (16, 0), (64, 0), (256, 0), (64, 1000000)):
            out = subprocess.run([BIN["redis_decisions"], "--port", str(redis_port), "--inflight",
                                  str(inflight), "--duration", str(args.duration), "--max-sessions", str(cap)],
                                 capture_output=True, text=True, check=True)
            decisions.append(json.loads(out.stdout))

        backend = Process("echo_backend", [BIN["echo_backend"]], CLIENT_CPU, d)
        procs.append(backend)
        bport = json.loads(backend.first_line())["port"]
        port = free_port()
        conf = os.path.join(d, "wsgate.yaml")
        with open(conf, "w") as f:
            f.write(CONFIG.format(port=port, redis_port=redis_port, backend=bport))
        gw = Process("wsgate", [BIN["wsgate"], "--config", conf], PROXY_CPU, d)
        procs.append(gw)
        wait_port(port)

        runs = {}
        for _ in range(args.rounds):
            for route in ("none", "local", "redis"):
                for conns in (1, 10):
                    cmd = ["taskset", "-c", CLIENT_CPU, BIN["wsbench"], "--mode", "upgrade",
                           "--url", f"ws://127.0.0.1:{port}/{route}", "--connections", str(conns),
                           "--duration", str(args.duration), "--warmup", "1"]
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                         preexec_fn=raise_nofile)
                    runs.setdefault((route, conns), []).append(json.loads(out.stdout.strip().splitlines()[-1]))
        upgrades = []
        for (route, conns), rs in sorted(runs.items()):
            upgrades.append({"route": route, "connections": conns,
                             "upgrades_per_s": statistics.median(r["msgs_per_s"] for r in rs),
                             "p50_us": statistics.median(r["p50_us"] for r in rs),
                             "p99_us": statistics.median(r["p99_us"] for r in rs),
                             "errors": sum(r["errors"] for r in rs)})
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)

    print("| decisions in flight | session cap | decisions/s | p50 µs | p99 µs |")
    print("| --- | --- | --- | --- | --- |")
    for r in decisions:
        print(f"| {r['inflight']} | {'yes' if r['max_sessions'] else 'no'} | {r['decisions_per_s']:.0f} | "
              f"{r['p50_us']:.0f} | {r['p99_us']:.0f} |")
    print()
    print("| route policy | connections | upgrades/s | cycle p50 µs | cycle p99 µs | errors |")
    print("| --- | --- | --- | --- | --- | --- |")
    for u in upgrades:
        print(f"| {u['route']} | {u['connections']} | {u['upgrades_per_s']:.0f} | {u['p50_us']:.0f} | "
              f"{u['p99_us']:.0f} | {u['errors']} |")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "redis_limits.json"), "w") as f:
        json.dump({"decisions": decisions, "upgrades": upgrades,
                   "when": time.strftime("%Y-%m-%dT%H:%M:%S")}, f, indent=1)


if __name__ == "__main__":
    main()
