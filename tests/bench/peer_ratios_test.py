#!/usr/bin/python3
"""bench/run.py's comparison with the peers: each peer's median per-round ratio on its own, and the
least favourable one taken as the best peer; never the better peer of each round, which is biased
against wsgate on a noisy machine. Synthetic rounds, no processes."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import run  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def rounds(cpu_by_target, noise, n=9, seed=7):
    rng = random.Random(seed)
    out = []
    for rnd in range(n):
        for target, cpu in cpu_by_target.items():
            v = cpu * (1 + rng.uniform(-noise, noise))
            out.append({"scenario": "upgrades", "round": rnd, "target": target,
                        "cpu_us_per_msg": v, "msgs_per_s": 1e6 / v})
    return out


cpu = lambda r, _: r["cpu_us_per_msg"]  # noqa: E731
msgs = lambda r, _: r["msgs_per_s"]  # noqa: E731

# Exact figures: NGINX is the one to beat on CPU, and on rate.
runs = rounds({"wsgate": 100, "nginx": 95, "haproxy": 120}, 0)
v, best, per_peer = run.versus_peers(runs, "upgrades", cpu, True)
check(best == "nginx" and abs(v - 100 / 95) < 1e-9, f"CPU: {best} {v}")
check(abs(per_peer["haproxy"]["median"] - 100 / 120) < 1e-9, "each peer's own median")
v, best, _ = run.versus_peers(runs, "upgrades", msgs, False)
check(best == "nginx" and abs(v - 95 / 100) < 1e-9, f"rate: {best} {v}")

# Two equal peers and wsgate equal to both, with noise: each peer's median ratio stays near 1, while
# the better of the two peers in each round makes wsgate look worse than it is.
runs = rounds({"wsgate": 100, "nginx": 100, "haproxy": 100}, 0.15, n=101)
v, _, per_peer = run.versus_peers(runs, "upgrades", cpu, True)
by_round = {}
for r in runs:
    by_round.setdefault(r["round"], {})[r["target"]] = r["cpu_us_per_msg"]
better_of_two = sorted(t["wsgate"] / min(t["nginx"], t["haproxy"]) for t in by_round.values())[50]
check(0.93 < v < 1.07, f"per-peer median near 1: {v}")
check(better_of_two > v + 0.03, f"the better-of-two ratio is biased: {better_of_two} vs {v}")
for p in per_peer.values():
    check(p["spread"][0] <= p["median"] <= p["spread"][1] and p["rounds"] == 101, f"spread {p}")

# The targets table names the peer and carries every peer's median and spread.
checks = run.check_targets(rounds({"wsgate": 100, "nginx": 95, "haproxy": 120, "floor": 90}, 0.02), [])
row = next(c for c in checks if c["target"].startswith("upgrade CPU vs best peer"))
check(row["target"] == "upgrade CPU vs best peer (nginx)" and set(row["peers"]) == {"nginx", "haproxy"}, str(row))

for f in failures:
    print("FAIL:", f)
print(f"peer ratios: {len(failures)} failures")
sys.exit(1 if failures else 0)
