#!/usr/bin/env python3
"""Where an upgrade cycle's proxy CPU goes: user time against system time, for wsgate, the floor
relay and the peers, in interleaved windows on the same backend.

bench/run.py reports utime + stime per cycle; this splits them. The floor relay does almost no
work of its own, so its user time is what the system calls cost on the way in and out on this
machine; what a proxy spends above that is its own work (parsing, JWT, routing, metrics).

  bench/cpu_split.py                                  3 rounds of 4 s per target, plain
  bench/cpu_split.py --rounds 5 --seconds 6
  bench/cpu_split.py --targets wsgate,nginx,haproxy --tls-version 1.3 --tls-resume
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, credentials, templates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--targets", default="floor,wsgate,nginx,haproxy")
    ap.add_argument("--tls-version", choices=("1.2", "1.3"), help="through the TLS listeners (no floor)")
    ap.add_argument("--tls-resume", action="store_true", help="resume each handshake by ticket")
    args = ap.parse_args()
    args.duration, args.warmup = args.seconds, 0.5
    names = [t for t in args.targets.split(",") if not (args.tls_version and t == "floor")]
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    extra = bench_run.upgrade_args(10, args.tls_version, args.tls_resume)
    bench = bench_run.Bench(args)
    rows = {name: [] for name in names}
    try:
        bench.start(set(names))
        for rnd in range(args.rounds):
            for name in names:
                t = bench.targets[name]
                u0, s0 = bench_run.cpu_ticks(t["pid"])
                out = bench.wsbench(t["tls"] if args.tls_version else t["plain"], extra, 0)
                u1, s1 = bench_run.cpu_ticks(t["pid"])
                cycles = max(1, out["established"])
                row = {"user_us": (u1 - u0) * tick_us / cycles, "sys_us": (s1 - s0) * tick_us / cycles}
                rows[name].append(row)
                print(f"round {rnd} {name:8} user {row['user_us']:6.1f} us  sys {row['sys_us']:6.1f} us per cycle "
                      f"({cycles} cycles)", flush=True)
        print("\nmedians per cycle (us):")
        for name, rs in rows.items():
            user = statistics.median(r["user_us"] for r in rs)
            sys_ = statistics.median(r["sys_us"] for r in rs)
            print(f"  {name:8} user {user:6.1f}  sys {sys_:6.1f}  total {user + sys_:6.1f}")
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
