#!/usr/bin/env python3
"""What metrics cost on the relay (issue 7): wsgate as built now against the same gateway built
without metrics (the commit before them), side by side on the Beast echo backend, in interleaved
rounds, with bench/run.py's pinning (client and backend on CPU 0, the proxy on CPU 1) and its
wsgate configuration (JWT on the route, one io thread).

  bench/metrics_cost.py --baseline PATH/TO/wsgate [--rounds 5] [--duration 8]

A baseline binary: git worktree add /tmp/wsgate-base a012987 && cmake -S /tmp/wsgate-base -B
/tmp/wsgate-base/build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C /tmp/wsgate-base/build wsgate
Prints a Markdown table and writes bench/results/metrics_cost.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from run import BIN, CLIENT_CPU, PROXY_CPU, ROOT, Process, credentials, fill, free_port, raise_nofile, wait_port

SCENARIOS = {
    "echo64": ["--mode", "echo", "--connections", "50", "--size", "64"],
    "echo16k": ["--mode", "echo", "--connections", "10", "--size", "16384", "--binary"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="wsgate built without metrics")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=1)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="wsgate-metrics-bench-")
    procs = []
    try:
        backend = Process("echo_backend", [BIN["echo_backend"]], CLIENT_CPU, d)
        procs.append(backend)
        bport = json.loads(backend.first_line())["port"]
        values, token = credentials(d)
        targets = {}
        for name, binary in (("metrics", BIN["wsgate"]), ("no_metrics", args.baseline)):
            port, tls_port = free_port(), free_port()
            conf = os.path.join(d, f"{name}.yaml")
            fill(os.path.join(ROOT, "bench", "peers", "wsgate.yaml.in"), conf,
                 dict(values, DIR=d, BACKEND_PORT=bport, PORT=port, TLS_PORT=tls_port))
            p = Process(name, [binary, "--config", conf], PROXY_CPU, d)
            procs.append(p)
            wait_port(port)
            targets[name] = (f"ws://127.0.0.1:{port}/", p.pid)

        runs = {}
        for _ in range(args.rounds):
            for scenario, extra in SCENARIOS.items():
                for name, (url, pid) in targets.items():
                    cmd = ["taskset", "-c", CLIENT_CPU, BIN["wsbench"], "--url", url, "--duration",
                           str(args.duration), "--warmup", str(args.warmup), "--header",
                           f"Authorization: Bearer {token}", "--cpu-pid", str(pid)] + extra
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                         preexec_fn=raise_nofile)
                    runs.setdefault((scenario, name), []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)

    summary = {}
    for (scenario, name), rs in runs.items():
        summary.setdefault(scenario, {})[name] = {
            "msgs_per_s": statistics.median(r["msgs_per_s"] for r in rs),
            "msgs_spread": [min(r["msgs_per_s"] for r in rs), max(r["msgs_per_s"] for r in rs)],
            "cpu_us_per_msg": statistics.median(r["cpu_us_per_msg"] for r in rs),
            "cpu_spread": [min(r["cpu_us_per_msg"] for r in rs), max(r["cpu_us_per_msg"] for r in rs)],
            "errors": sum(r["errors"] for r in rs)}
    print("| scenario | msgs/s without | msgs/s with | with / without | CPU µs/msg without | CPU µs/msg with | with / without |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for scenario, s in summary.items():
        a, b = s["no_metrics"], s["metrics"]
        print(f"| {scenario} | {a['msgs_per_s']:.0f} | {b['msgs_per_s']:.0f} | {b['msgs_per_s'] / a['msgs_per_s']:.3f} | "
              f"{a['cpu_us_per_msg']:.2f} | {b['cpu_us_per_msg']:.2f} | {b['cpu_us_per_msg'] / a['cpu_us_per_msg']:.3f} |")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "metrics_cost.json"), "w") as f:
        json.dump({"summary": summary, "rounds": args.rounds, "duration": args.duration,
                   "when": time.strftime("%Y-%m-%dT%H:%M:%S")}, f, indent=1)


if __name__ == "__main__":
    main()
