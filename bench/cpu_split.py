#!/usr/bin/env python3
"""Where a plain upgrade cycle's proxy CPU goes: user time against system time, wsgate against the
floor relay, in interleaved windows on the same backend.

bench/run.py reports utime + stime per cycle; this splits them. The floor relay does almost no
work of its own, so its user time is what the system calls cost on the way in and out on this
machine; what wsgate spends above that is its own work (parsing, JWT, routing, metrics).

  bench/cpu_split.py                  3 rounds of 4 s per target
  bench/cpu_split.py --rounds 5 --seconds 6
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, credentials, templates)



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    args = ap.parse_args()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    d = tempfile.mkdtemp(prefix="wsgate-cpu-split-")
    procs = []
    try:
        values, token = bench_run.credentials(d)
        backend = bench_run.Process("backend", [bench_run.BIN["echo_backend"], "--port", "0"], bench_run.CLIENT_CPU, d)
        procs.append(backend)
        backend_port = json.loads(backend.first_line())["port"]
        floor = bench_run.Process("floor", [bench_run.BIN["floor_relay"], "0", str(backend_port)], bench_run.PROXY_CPU, d)
        procs.append(floor)
        floor_port = json.loads(floor.first_line())["port"]
        port = bench_run.free_port()
        values.update(DIR=d, PORT=port, TLS_PORT=bench_run.free_port(), BACKEND_PORT=backend_port)
        conf = os.path.join(d, "wsgate.yaml")
        bench_run.fill(os.path.join(bench_run.ROOT, "bench", "peers", "wsgate.yaml.in"), conf, values)
        wsgate = bench_run.Process("wsgate", [bench_run.BIN["wsgate"], "--config", conf], bench_run.PROXY_CPU, d)
        procs.append(wsgate)
        bench_run.wait_port(port)
        targets = {"floor": (floor.pid, floor_port), "wsgate": (wsgate.pid, port)}
        rows = {name: [] for name in targets}
        for rnd in range(args.rounds):
            for name, (pid, target_port) in targets.items():
                u0, s0 = bench_run.cpu_ticks(pid)
                out = subprocess.run(["taskset", "-c", bench_run.CLIENT_CPU, bench_run.BIN["wsbench"], "--mode", "upgrade",
                                      "--connections", "10", "--url", f"ws://127.0.0.1:{target_port}/",
                                      "--duration", str(args.seconds), "--header", f"Authorization: Bearer {token}"],
                                     capture_output=True, text=True, check=True).stdout
                u1, s1 = bench_run.cpu_ticks(pid)
                cycles = json.loads(out.splitlines()[0])["established"]
                row = {"user_us": (u1 - u0) * tick_us / cycles, "sys_us": (s1 - s0) * tick_us / cycles, "cycles": cycles}
                rows[name].append(row)
                print(f"round {rnd} {name:6} user {row['user_us']:6.1f} us  sys {row['sys_us']:6.1f} us per cycle "
                      f"({cycles} cycles)", flush=True)
        print("\nmedians per cycle (us):")
        for name, rs in rows.items():
            user = statistics.median(r["user_us"] for r in rs)
            sys_ = statistics.median(r["sys_us"] for r in rs)
            print(f"  {name:6} user {user:6.1f}  sys {sys_:6.1f}  total {user + sys_:6.1f}")
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
