#!/usr/bin/env python3
"""System calls per connect + upgrade + close cycle (or per echoed message), for each proxy,
counted by strace.

Starts the same processes as bench/run.py, attaches `strace -f -c` to each proxy (every thread)
while wsbench runs upgrade cycles through it without warm-up, and divides each system call's count
by the cycles wsbench opened. With --echo SIZE wsbench echoes SIZE-byte binary messages over
long-lived sessions instead, and the counts are per message (one each way). strace slows the proxy
down many times over, so this counts work and says nothing of time; bench/run.py measures the time.

  bench/upgrade_syscalls.py                      plain, every target
  bench/upgrade_syscalls.py --tls --targets wsgate,nginx,haproxy
  bench/upgrade_syscalls.py --tls --echo 16384   per 16 KiB message relayed over TLS
  bench/upgrade_syscalls.py --json out.json      also write the table as JSON
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (the processes and their configurations)

LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$")


def parse_strace_summary(text):
    """{syscall: calls} from strace -c's table (the errors column may be empty)."""
    calls = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m and m.group(3) != "total":
            calls[m.group(3)] = int(m.group(1))
    return calls


def count(bench, target, tls, seconds, connections, echo_size=0):
    t = bench.targets[target]
    url = t["tls"] if tls else t["plain"]
    out = os.path.join(bench.dir, f"strace-{target}-{'tls' if tls else 'plain'}.txt")
    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(t["pid"])],
                              stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread before the first cycle
    mode = ["--mode", "echo", "--size", str(echo_size), "--binary"] if echo_size else ["--mode", "upgrade"]
    cmd = ["taskset", "-c", bench_run.CLIENT_CPU, bench_run.BIN["wsbench"], "--url", url, *mode,
           "--connections", str(connections), "--duration", str(seconds),
           "--warmup", "0", "--header", f"Authorization: Bearer {bench.token}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60,
                       preexec_fn=bench_run.raise_nofile)
    result = json.loads(r.stdout.strip().splitlines()[-1])
    time.sleep(1.0)  # the last closes reach the proxy
    tracer.send_signal(signal.SIGINT)
    tracer.wait(10)
    with open(out) as f:
        calls = parse_strace_summary(f.read())
    # Cycles the proxy saw: every session wsbench opened (the last ones' closes included); for
    # echo, the messages (the sessions' own upgrades are a rounding error over seconds of echo).
    cycles = max(1, result["messages"] if echo_size else result["established"])
    return {"target": target, "tls": tls, "cycles": cycles, "errors": result["errors"],
            "per_cycle": {k: v / cycles for k, v in sorted(calls.items(), key=lambda kv: -kv[1])},
            "total_per_cycle": sum(calls.values()) / cycles}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="floor,wsgate,nginx,haproxy")
    ap.add_argument("--tls", action="store_true", help="through the TLS listeners (no floor)")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--echo", type=int, default=0, metavar="SIZE",
                    help="count per echoed SIZE-byte message instead of per upgrade cycle")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    args.duration, args.warmup = args.seconds, 0
    wanted = set(args.targets.split(","))
    if args.tls:
        wanted.discard("floor")
    bench = bench_run.Bench(args)
    rows = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        bench.start(wanted)
        for target in [t for t in ("floor", "wsgate", "nginx", "haproxy") if t in wanted]:
            rows.append(count(bench, target, args.tls, args.seconds, args.connections, args.echo))
    finally:
        bench.stop()
    names = sorted({k for r in rows for k in r["per_cycle"]},
                   key=lambda k: -max(r["per_cycle"].get(k, 0) for r in rows))
    print("| system call | " + " | ".join(r["target"] for r in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for name in names:
        cells = [f"{r['per_cycle'].get(name, 0):.2f}" for r in rows]
        if all(float(c) < 0.005 for c in cells):
            continue
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{r['total_per_cycle']:.2f}**" for r in rows) + " |")
    print(f"| {'messages' if args.echo else 'cycles'} (errors) | " + " | ".join(f"{r['cycles']} ({r['errors']})" for r in rows) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
