#!/usr/bin/env python3
"""What the PROXY protocol costs wsgate per upgrade (issue 33): the same connect + upgrade + close
cycle through the same HAProxy (TCP mode), once with send-proxy-v2 to a listener with
proxy_protocol and once without to a plain listener, in interleaved rounds. wsgate is pinned to
its own CPU; HAProxy, the client and the backend share the other.

  bench/proxy_protocol.py                  3 rounds of 4 s per path
  bench/proxy_protocol.py --rounds 6 --seconds 5
Writes bench/results/proxy_protocol.json and proxy_protocol.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, CPUs, ports)

WSGATE = """threads: 1
log: {{ level: warn }}
access_log: {{ enabled: false }}
listeners:
  - {{ name: plain, bind: "127.0.0.1:{plain}" }}
  - {{ name: edge, bind: "127.0.0.1:{edge}", proxy_protocol: {{ trusted: [ "127.0.0.1" ] }} }}
admin: {{ bind: "127.0.0.1:0" }}
routes:
  - {{ name: bench, match: {{ path_prefix: / }}, backends: [ "ws://127.0.0.1:{backend}" ], limits: {{ ping_interval: 0s }} }}
"""
HAPROXY = """global
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend without
  bind 127.0.0.1:{without}
  default_backend plain
frontend with
  bind 127.0.0.1:{with_}
  default_backend edge
backend plain
  server wsgate 127.0.0.1:{plain}
backend edge
  server wsgate 127.0.0.1:{edge} send-proxy-v2
"""



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    args = ap.parse_args()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    d = tempfile.mkdtemp(prefix="wsgate-pp-")
    procs = []
    try:
        backend = bench_run.Process("backend", [bench_run.BIN["echo_backend"], "--port", "0"], bench_run.CLIENT_CPU, d)
        procs.append(backend)
        ports = {"backend": json.loads(backend.first_line())["port"]}
        for k in ("plain", "edge", "without", "with_"):
            ports[k] = bench_run.free_port()
        conf = os.path.join(d, "wsgate.yaml")
        with open(conf, "w") as f:
            f.write(WSGATE.format(**ports))
        wsgate = bench_run.Process("wsgate", [bench_run.BIN["wsgate"], "--config", conf], bench_run.PROXY_CPU, d)
        procs.append(wsgate)
        bench_run.wait_port(ports["plain"])
        hcfg = os.path.join(d, "haproxy.cfg")
        with open(hcfg, "w") as f:
            f.write(HAPROXY.format(**ports))
        haproxy = bench_run.Process("haproxy", ["/usr/sbin/haproxy", "-db", "-f", hcfg], bench_run.CLIENT_CPU, d)
        procs.append(haproxy)
        bench_run.wait_port(ports["with_"])
        paths = {"without": ports["without"], "with_proxy_v2": ports["with_"]}
        rows = {name: [] for name in paths}
        for rnd in range(args.rounds):
            order = list(paths) if rnd % 2 == 0 else list(reversed(paths))
            for name in order:
                t0 = sum(bench_run.cpu_ticks(wsgate.pid))
                out = subprocess.run(["taskset", "-c", bench_run.CLIENT_CPU, bench_run.BIN["wsbench"], "--mode", "upgrade",
                                      "--connections", "10", "--url", f"ws://127.0.0.1:{paths[name]}/",
                                      "--duration", str(args.seconds)], capture_output=True, text=True, check=True).stdout
                cycles = json.loads(out.splitlines()[0])["established"]
                us = (sum(bench_run.cpu_ticks(wsgate.pid)) - t0) * tick_us / max(cycles, 1)
                rows[name].append(us)
                print(f"round {rnd} {name:14} {us:6.1f} us of wsgate CPU per cycle ({cycles} cycles)", flush=True)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)
    result = {k: {"median_us": statistics.median(v), "rounds": v} for k, v in rows.items()}
    ratio = result["with_proxy_v2"]["median_us"] / result["without"]["median_us"]
    lines = ["# The PROXY protocol's cost per upgrade", "",
             f"`bench/proxy_protocol.py --rounds {args.rounds} --seconds {args.seconds}`, {time.strftime('%Y-%m-%d %H:%M')}: "
             "the same HAProxy in TCP mode in front, wsgate on its own CPU.", "",
             "| path | wsgate CPU per connect + upgrade + close (median) |", "| --- | --- |",
             f"| without a PROXY header | {result['without']['median_us']:.1f} us |",
             f"| with send-proxy-v2 | {result['with_proxy_v2']['median_us']:.1f} us |",
             f"| ratio | {ratio:.3f} |"]
    bench_run.write_results("proxy_protocol", dict(result, ratio=ratio), lines)


if __name__ == "__main__":
    main()
