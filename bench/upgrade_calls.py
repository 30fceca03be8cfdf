#!/usr/bin/env python3
"""Calls of shared-library functions per connect + upgrade + close cycle, for each proxy, counted
by uprobes: by default the heap allocations (libc's malloc, calloc and realloc).

Starts the same processes as bench/run.py, places uprobes on the functions (perf probe; needs root
and a kernel with uprobes), attaches `perf stat` to each proxy (every thread) while wsbench runs
upgrade cycles through it, and divides each count by the cycles wsbench opened. operator new and
OpenSSL's CRYPTO_malloc both end in malloc, so the default count is every allocation the process
makes; memory a proxy takes from its own pools is not counted, which is the point: those are the
allocations a pool or arena has already removed. The proxies link the same OpenSSL, so counting
its functions compares what each does per handshake.

  bench/upgrade_calls.py                                         allocations, plain, every target
  bench/upgrade_calls.py --tls-version 1.2 --targets wsgate,nginx,haproxy
  bench/upgrade_calls.py --tls-version 1.3 --tls-resume
  bench/upgrade_calls.py --tls-version 1.2 --functions libcrypto.so.3:EVP_MAC_CTX_dup,X509_verify_cert
  bench/upgrade_calls.py --json out.json                         also write the rows as JSON
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (the processes and their configurations)

ALLOCATIONS = "libc.so.6:malloc,calloc,realloc"


def library_path(name):
    out = subprocess.run(["ldd", bench_run.BIN["wsgate"]], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " "):
            return line.split("=>")[1].split()[0]
    raise RuntimeError(f"{name} not found in ldd's output for wsgate")


def add_probes(spec):
    """Adds the probes of `spec` (LIBRARY:FN,FN) that are not there yet; returns the event names
    (perf names them probe_<library stem>:<function>) and the ones to remove afterwards."""
    library, functions = spec.split(":", 1)
    path = library_path(library)
    stem = library.split(".so")[0].replace("-", "_").replace(".", "_")
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout.split()
    added, events = [], []
    for fn in functions.split(","):
        event = f"probe_{stem}:{fn}"
        events.append(event)
        if event in listed:
            continue
        subprocess.run(["perf", "probe", "-q", "-x", path, fn], check=True)
        added.append(event)
    return events, added


def count(bench, target, events, args):
    t = bench.targets[target]
    url = t["tls"] if args.tls_version else t["plain"]
    out = os.path.join(bench.dir, f"perf-{target}.csv")
    counter = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e", ",".join(events),
                                "-p", str(t["pid"])], stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread before the first cycle
    result = bench.wsbench(url, bench_run.upgrade_args(args.connections, args.tls_version, args.tls_resume), 0)
    time.sleep(1.0)  # the last closes reach the proxy
    counter.send_signal(signal.SIGINT)
    counter.wait(10)
    calls = {}
    with open(out) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[2] in events:
                calls[fields[2].split(":")[1]] = int(fields[0]) if fields[0].isdigit() else 0
    cycles = max(1, result["established"])
    return {"target": target, "cycles": cycles, "errors": result["errors"],
            "per_cycle": {k: v / cycles for k, v in calls.items()},
            "total_per_cycle": sum(calls.values()) / cycles}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="floor,wsgate,nginx,haproxy")
    ap.add_argument("--tls-version", choices=("1.2", "1.3"), help="through the TLS listeners (no floor)")
    ap.add_argument("--tls-resume", action="store_true", help="resume each handshake by ticket")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--functions", action="append",
                    help=f"LIBRARY:FN,FN as ldd names the library, repeatable (default {ALLOCATIONS})")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    args.duration, args.warmup = args.seconds, 0
    wanted = set(args.targets.split(","))
    if args.tls_version:
        wanted.discard("floor")
    events, added = [], []
    for spec in args.functions or [ALLOCATIONS]:
        e, a = add_probes(spec)
        events += e
        added += a
    bench = bench_run.Bench(args)
    rows = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        bench.start(wanted)
        for target in [t for t in ("floor", "wsgate", "nginx", "haproxy") if t in wanted]:
            rows.append(count(bench, target, events, args))
    finally:
        bench.stop()
        for event in added:
            subprocess.run(["perf", "probe", "-q", "-d", event], check=False)
    print("| calls per cycle | " + " | ".join(r["target"] for r in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for fn in [e.split(":")[1] for e in events]:
        print(f"| {fn} | " + " | ".join(f"{r['per_cycle'].get(fn, 0):.2f}" for r in rows) + " |")
    if not args.functions:  # allocations: their sum means something
        print("| **total** | " + " | ".join(f"**{r['total_per_cycle']:.2f}**" for r in rows) + " |")
    print("| cycles (errors) | " + " | ".join(f"{r['cycles']} ({r['errors']})" for r in rows) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
