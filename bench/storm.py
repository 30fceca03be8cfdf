#!/usr/bin/env python3
"""Reconnect storms: how fast each proxy gets every client back, and what it spends doing it.

Backend storm (wsgate, NGINX, HAProxy, interleaved rounds): three echo backends behind the proxy,
N sessions from 127.0.0.1 (so hashing by client address puts all of them on one backend); that
backend is killed (SIGKILL), and every client reconnects the moment its session drops, with no
jitter: the worst case. Measured by wsbench --mode storm: the time from the first drop until all N
are back, the proxy's CPU over that time, each reconnect's time from drop to open (p50, p99, max:
failed attempts included) and the failed attempts. The same storm with no proxy ("direct": the
sessions on one backend, reconnecting straight to a survivor) is the reference: what the client
and the backends need alone on the same CPU, which no proxy can beat.

Restart storm (wsgate only): N sessions through one wsgate, which is stopped (SIGTERM: drain, 1001
to every client); the clients reconnect through a second wsgate on the same backends.

Writes bench/results/storm.json and storm.md.

  bench/storm.py                         9000 sessions, 3 rounds (about 5 minutes)
  bench/storm.py --sessions 2000 --rounds 1
  bench/storm.py --smoke                 300 sessions through wsgate alone, both storms (CI)
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, credentials, templates)

PEERS_DIR = os.path.join(bench_run.ROOT, "bench", "peers")


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Storm:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="wsgate-storm-")
        self.values, self.token = bench_run.credentials(self.dir)
        self.backends = []

    def start_backends(self, ports=(0, 0, 0)):
        self.backends = []
        for i, port in enumerate(ports):
            p = bench_run.Process(f"backend{i}", [bench_run.BIN["echo_backend"], "--port", str(port)],
                                  bench_run.CLIENT_CPU, self.dir)
            p.port = json.loads(p.first_line())["port"]
            self.backends.append(p)
        for i, b in enumerate(self.backends):
            self.values[f"B{i}"] = b.port

    def stop_backends(self):
        for b in self.backends:
            b.stop()
        self.backends = []

    def start_proxy(self, name, tag=""):
        port = bench_run.free_port()
        vals = dict(self.values, DIR=self.dir, PORT=port)
        if name == "wsgate":
            conf = os.path.join(self.dir, f"wsgate{tag}.yaml")
            bench_run.fill(os.path.join(PEERS_DIR, "storm-wsgate.yaml.in"), conf, vals)
            p = bench_run.Process(f"wsgate{tag}", [bench_run.BIN["wsgate"], "--config", conf],
                                  bench_run.PROXY_CPU, self.dir)
        elif name == "nginx":
            os.makedirs(os.path.join(self.dir, "nginx-tmp"), exist_ok=True)
            conf = os.path.join(self.dir, "nginx.conf")
            bench_run.fill(os.path.join(PEERS_DIR, "storm-nginx.conf.in"), conf, vals)
            p = bench_run.Process(name, ["nginx", "-c", conf, "-p", self.dir], bench_run.PROXY_CPU, self.dir)
        else:
            conf = os.path.join(self.dir, "haproxy.cfg")
            bench_run.fill(os.path.join(PEERS_DIR, "storm-haproxy.cfg.in"), conf, vals)
            p = bench_run.Process(name, ["haproxy", "-db", "-f", conf], bench_run.PROXY_CPU, self.dir)
        bench_run.wait_port(port)
        p.port = port
        p.measured = p.pid
        if name == "nginx":  # the worker, not the master
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                p.measured = int(f.read().split()[0])
        return p

    def clients(self, url, cpu_pid, reconnect_url=None):
        cmd = ["taskset", "-c", bench_run.CLIENT_CPU, bench_run.BIN["wsbench"], "--mode", "storm",
               "--url", url, "--connections", str(self.args.sessions), "--duration", str(self.args.timeout),
               "--concurrency", "200", "--cpu-pid", str(cpu_pid),
               "--header", f"Authorization: Bearer {self.token}"]
        if reconnect_url:
            cmd += ["--reconnect-url", reconnect_url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=bench_run.raise_nofile)
        ready = json.loads(proc.stdout.readline())
        if ready["established"] != self.args.sessions or ready["errors"]:
            proc.kill()
            raise RuntimeError(f"only {ready['established']} of {self.args.sessions} sessions opened")
        return proc

    def storm(self, proxies, url, cpu_pid, trigger, reconnect_url=None):
        """Opens the sessions, settles, calls trigger() to start the storm, returns wsbench's result."""
        try:
            proc = self.clients(url, cpu_pid, reconnect_url)
            time.sleep(1)
            trigger()
            result = json.loads(proc.stdout.readline())
            proc.wait()
        finally:
            for p in proxies:
                p.stop()
            self.stop_backends()
        return result

    def backend_storm(self, name):
        self.start_backends()
        if name == "direct":
            return self.direct_storm()
        proxy = self.start_proxy(name)

        def kill_the_busy_backend():
            # The backend holding the sessions holds a descriptor for each.
            victim = max(self.backends, key=lambda b: fd_count(b.pid))
            assert fd_count(victim.pid) >= self.args.sessions, "the sessions are not on one backend"
            victim.proc.send_signal(signal.SIGKILL)
        return self.storm([proxy], f"ws://127.0.0.1:{proxy.port}/", proxy.measured, kill_the_busy_backend)

    def direct_storm(self):
        """No proxy: the sessions sit on backend 0 and reconnect straight to backend 1 when it dies,
        as the proxies' hashing sends them all to one survivor. What the client and the backends
        spend alone: the shortest recovery this machine allows, whatever the proxy."""
        first, second = self.backends[0], self.backends[1]
        return self.storm([], f"ws://127.0.0.1:{first.port}/", 0,
                          lambda: first.proc.send_signal(signal.SIGKILL),
                          reconnect_url=f"ws://127.0.0.1:{second.port}/")

    def restart_storm(self):
        self.start_backends()
        first, second = self.start_proxy("wsgate", "-1"), self.start_proxy("wsgate", "-2")
        # The CPU measured is the second instance's: it takes the whole storm.
        return self.storm([first, second], f"ws://127.0.0.1:{first.port}/", second.pid,
                          lambda: first.proc.send_signal(signal.SIGTERM),
                          reconnect_url=f"ws://127.0.0.1:{second.port}/")


def report(results, path_md):
    lines = ["# wsgate reconnect storms", "",
             f"Run {results['started']} on {results['machine']}; {results['sessions']} sessions, "
             f"{results['rounds']} interleaved rounds, medians (spreads as [min, max]). The client and "
             "the backends are pinned to CPU 0, the proxy to CPU 1. Recovery is the time from the first "
             "dropped session until all are back; a reconnect's time runs from its drop to its open, "
             "failed attempts included. Produced by `bench/storm.py`.", "",
             "| storm | target | recovery s | proxy CPU s | reconnect p50 ms | p99 ms | max ms | failed attempts | all back |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for storm, by_target in results["summary"].items():
        for target, rows in by_target.items():
            def cell(key, scale=1.0):
                vals = [r[key] * scale for r in rows]
                return f"{statistics.median(vals):.3f} [{min(vals):.3f}, {max(vals):.3f}]"
            cpu = "—" if target == "direct" else cell("cpu_s")
            lines.append(f"| {storm} | {target} | {cell('recovery_s')} | {cpu} | "
                         f"{cell('p50_us', 1e-3)} | {cell('p99_us', 1e-3)} | {cell('max_us', 1e-3)} | "
                         f"{sum(r['errors'] for r in rows)} | {all(r['recovered'] for r in rows)} |")
    lines += ["", "## Targets", "", "| target | measured | limit | met |", "| --- | --- | --- | --- |"]
    for t in results["targets"]:
        met = "—" if t["limit"] == "(reference)" else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['name']} | {t['value']:.3f} | {t['limit']} | {met} |")
    with open(path_md, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=9000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60, help="seconds a storm may take before it is cut")
    ap.add_argument("--targets", default="direct,wsgate,nginx,haproxy")
    ap.add_argument("--out", default=os.path.join(bench_run.ROOT, "bench", "results"))
    ap.add_argument("--smoke", action="store_true", help="short CI check: wsgate only, every client back")
    args = ap.parse_args()
    if args.smoke:
        args.sessions, args.rounds, args.timeout, args.targets = 300, 1, 20, "wsgate"
        args.out = tempfile.mkdtemp(prefix="wsgate-storm-out-")
    targets = args.targets.split(",")
    for tool in ("taskset", "openssl") + tuple(t for t in ("nginx", "haproxy") if t in targets):
        if not shutil.which(tool):
            sys.exit(f"storm: {tool} is not installed (scripts/install-deps.sh --bench installs it)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    storm = Storm(args)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    summary = {"backend killed": {t: [] for t in targets}, "wsgate restarted": {"wsgate": []}}
    try:
        for rnd in range(args.rounds):
            for target in targets:
                r = storm.backend_storm(target)
                summary["backend killed"][target].append(r)
                print(f"backend storm round {rnd} {target:8} recovery {r['recovery_s']:.3f} s cpu {r['cpu_s']:.3f} s "
                      f"p99 {r['p99_us'] / 1000:.1f} ms errors {r['errors']} back {r['reconnected']}", flush=True)
            r = storm.restart_storm()
            summary["wsgate restarted"]["wsgate"].append(r)
            print(f"restart storm round {rnd} recovery {r['recovery_s']:.3f} s cpu {r['cpu_s']:.3f} s "
                  f"p99 {r['p99_us'] / 1000:.1f} ms errors {r['errors']} back {r['reconnected']}", flush=True)
    finally:
        storm.stop_backends()
        shutil.rmtree(storm.dir, ignore_errors=True)

    targets_met = []
    rows = summary["backend killed"]
    peers = [t for t in ("nginx", "haproxy") if t in rows]
    if "wsgate" in rows and peers:
        # Per round: wsgate against the best peer of that round.
        ratios = [rows["wsgate"][i]["recovery_s"] / min(rows[p][i]["recovery_s"] for p in peers)
                  for i in range(args.rounds)]
        v = statistics.median(ratios)
        targets_met.append({"name": "storm recovery vs best peer", "value": v, "limit": "<= 0.8", "met": v <= 0.8})
        if "direct" in rows:  # how much of the best peer's time the client and backends take alone
            v = statistics.median(rows["direct"][i]["recovery_s"] / min(rows[p][i]["recovery_s"] for p in peers)
                                  for i in range(args.rounds))
            targets_met.append({"name": "direct (no proxy) recovery vs best peer", "value": v,
                                "limit": "(reference)", "met": v <= 0.8})
        failed = sum(r["errors"] for r in rows["wsgate"]) + sum(0 if r["recovered"] else 1 for r in rows["wsgate"])
        targets_met.append({"name": "wsgate failed reconnects", "value": failed, "limit": "0", "met": failed == 0})
    if args.smoke:
        rows = [r for by_target in summary.values() for rs in by_target.values() for r in rs]
        ok = all(r["recovered"] and r["errors"] == 0 for r in rows)
        for r in rows:
            print(f"storm smoke: {r['reconnected']} of {r['connections']} back in {r['recovery_s']:.3f} s, "
                  f"{r['errors']} failed attempts {r['error_samples']}")
        shutil.rmtree(args.out, ignore_errors=True)
        sys.exit(0 if ok else 1)
    results = {"started": started, "machine": f"{os.cpu_count()} CPUs, {os.uname().release}",
               "sessions": args.sessions, "rounds": args.rounds, "summary": summary, "targets": targets_met}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "storm.json"), "w") as f:
        json.dump(results, f, indent=1)
    report(results, os.path.join(args.out, "storm.md"))
    print(open(os.path.join(args.out, "storm.md")).read())


if __name__ == "__main__":
    main()
