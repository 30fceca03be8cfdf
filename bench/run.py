#!/usr/bin/env python3
"""wsgate side by side with NGINX, HAProxy, a direct connection and a minimal blind relay.

Starts the Beast echo backend and every target, runs each scenario in interleaved rounds
(direct, floor, wsgate, nginx, haproxy, direct, ...), and writes the medians, spreads and ratios to
bench/results/latest.json, a Markdown report with a chart to bench/results/latest.md.

The client and the backend are pinned to CPU 0 and the proxy under test to CPU 1 (taskset), so the
proxies are compared on equal terms. Proxy CPU per message is utime+stime of the proxy over the
measured window (/proc/PID/stat), divided by the messages echoed in it.

  bench/run.py                  full run (about 15 minutes)
  bench/run.py --rounds 5 --duration 8
  bench/run.py --smoke          5-second check that wsbench, the backend and wsgate work (CI)
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
BIN = {
    "wsbench": os.path.join(BUILD, "bench", "wsbench"),
    "echo_backend": os.path.join(BUILD, "bench", "echo_backend"),
    "floor_relay": os.path.join(BUILD, "bench", "floor_relay"),
    "wsgate": os.path.join(BUILD, "wsgate"),
    "redis_decisions": os.path.join(BUILD, "bench", "redis_decisions"),
}
CLIENT_CPU, PROXY_CPU = "0", "1"
NOFILE = 20000

# name: (wsbench arguments, targets, tls)
SCENARIOS = {
    "echo64": (["--mode", "echo", "--connections", "50", "--size", "64"],
               ["direct", "floor", "wsgate", "nginx", "haproxy"], False),
    "echo16k": (["--mode", "echo", "--connections", "10", "--size", "16384", "--binary"],
                ["direct", "floor", "wsgate", "nginx", "haproxy"], False),
    "echo64_tls": (["--mode", "echo", "--connections", "50", "--size", "64"],
                   ["direct", "wsgate", "nginx", "haproxy"], True),
    "echo16k_tls": (["--mode", "echo", "--connections", "10", "--size", "16384", "--binary"],
                    ["direct", "wsgate", "nginx", "haproxy"], True),
    "latency5k": (["--mode", "open", "--connections", "100", "--size", "64", "--rate", "5000"],
                  ["direct", "floor", "wsgate", "nginx", "haproxy"], False),
    "upgrades": (["--mode", "upgrade", "--connections", "10"],
                 ["direct", "floor", "wsgate", "nginx", "haproxy"], False),
    # TLS upgrade cycles: full TLS 1.3 handshakes, TLS 1.3 resumed with the previous connection's
    # ticket, and full TLS 1.2.
    "upgrades_tls": (["--mode", "upgrade", "--connections", "10", "--tls-version", "1.3"],
                     ["direct", "wsgate", "nginx", "haproxy"], True),
    "upgrades_tls_resumed": (["--mode", "upgrade", "--connections", "10", "--tls-version", "1.3", "--tls-resume"],
                             ["direct", "wsgate", "nginx", "haproxy"], True),
    "upgrades_tls12": (["--mode", "upgrade", "--connections", "10", "--tls-version", "1.2"],
                       ["direct", "wsgate", "nginx", "haproxy"], True),
}
PEERS = ("nginx", "haproxy")


def upgrade_args(connections, tls_version=None, resume=False):
    """wsbench's arguments for upgrade cycles, through TLS `tls_version` ("1.2", "1.3") if given."""
    args = ["--mode", "upgrade", "--connections", str(connections)]
    if tls_version:
        args += ["--tls-version", tls_version] + (["--tls-resume"] if resume else [])
    return args


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ticks(pid):
    """utime and stime of `pid` so far, in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def stop_process(proc):
    """SIGTERM to our own child (its drain), SIGKILL if it is not gone within 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_results(name, data, lines):
    """bench/results/NAME.json and NAME.md, and the table printed."""
    out_dir = os.path.join(ROOT, "bench", "results")
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(data, f, indent=2)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


class Process:
    """A child pinned to a CPU, stopped by its own PID."""

    def __init__(self, name, cmd, cpu, log_dir, cwd=None):
        self.name = name
        self.log = open(os.path.join(log_dir, f"{name}.log"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", cpu] + cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, cwd=cwd, preexec_fn=raise_nofile, text=True)
        self.pid = self.proc.pid

    def first_line(self):
        return self.proc.stdout.readline()

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def fill(template, out, values):
    with open(template) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    with open(out, "w") as f:
        f.write(text)


def credentials(d):
    """An ECDSA P-256 certificate for the TLS listeners and a JWT secret with a token signed by it
    (every client sends it: wsgate verifies it on its route, the others pass it through). Returns
    the template values (CERT, KEY, PEM, SECRET) and the token."""
    cert, key = os.path.join(d, "bench.crt"), os.path.join(d, "bench.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    pem = os.path.join(d, "bench.pem")
    with open(pem, "w") as f:
        f.write(open(cert).read() + open(key).read())
    secret = os.path.join(d, "bench.secret")
    with open(secret, "w") as f:
        f.write(os.urandom(48).hex())
    token = subprocess.run(
        [BIN["wsgate"], "token", "--secret-file", secret, "--sub", "bench", "--iss", "wsgate-bench",
         "--aud", "wsgate", "--ttl", "6h"], check=True, capture_output=True, text=True).stdout.strip()
    return {"CERT": cert, "KEY": key, "PEM": pem, "SECRET": secret}, token


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="wsgate-bench-")
        self.procs = []
        self.targets = {}  # name -> {"plain": url, "tls": url, "pid": pid to measure}

    def start(self, wanted):
        d = self.dir
        backend = Process("echo_backend", [BIN["echo_backend"]], CLIENT_CPU, d)
        self.procs.append(backend)
        bport = json.loads(backend.first_line())["port"]
        self.targets["direct"] = {"plain": f"ws://127.0.0.1:{bport}/", "tls": None, "pid": 0}
        values, self.token = credentials(d)
        values.update(DIR=d, BACKEND_PORT=bport)

        if "floor" in wanted:
            floor = Process("floor", [BIN["floor_relay"], "0", str(bport)], PROXY_CPU, d)
            self.procs.append(floor)
            fport = json.loads(floor.first_line())["port"]
            self.targets["floor"] = {"plain": f"ws://127.0.0.1:{fport}/", "tls": None, "pid": floor.pid}
        for name in ("wsgate", "nginx", "haproxy"):
            if name not in wanted:
                continue
            port, tls_port = free_port(), free_port()
            vals = dict(values, PORT=port, TLS_PORT=tls_port)
            if name == "wsgate":
                conf = os.path.join(d, "wsgate.yaml")
                fill(os.path.join(ROOT, "bench", "peers", "wsgate.yaml.in"), conf, vals)
                p = Process(name, [BIN["wsgate"], "--config", conf], PROXY_CPU, d)
                pid = p.pid
            elif name == "nginx":
                os.makedirs(os.path.join(d, "nginx-tmp"), exist_ok=True)
                conf = os.path.join(d, "nginx.conf")
                fill(os.path.join(ROOT, "bench", "peers", "nginx.conf.in"), conf, vals)
                p = Process(name, ["nginx", "-c", conf, "-p", d], PROXY_CPU, d)
                pid = None
            else:
                conf = os.path.join(d, "haproxy.cfg")
                fill(os.path.join(ROOT, "bench", "peers", "haproxy.cfg.in"), conf, vals)
                p = Process(name, ["haproxy", "-db", "-f", conf], PROXY_CPU, d)
                pid = p.pid
            self.procs.append(p)
            try:
                wait_port(port)
                wait_port(tls_port)
            except RuntimeError:
                p.log.flush()
                with open(p.log.name) as f:
                    raise RuntimeError(f"{name} did not start: {f.read()[-2000:]}")
            if name == "nginx":  # measure the worker, not the master
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    pid = int(f.read().split()[0])
            self.targets[name] = {"plain": f"ws://127.0.0.1:{port}/",
                                  "tls": f"wss://localhost:{tls_port}/", "pid": pid}

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, wanted):
        self.stop()
        self.dir = tempfile.mkdtemp(prefix="wsgate-bench-")
        self.targets = {}
        self.start(wanted)

    def wsbench(self, url, extra, pid):
        cmd = ["taskset", "-c", CLIENT_CPU, BIN["wsbench"], "--url", url,
               "--duration", str(self.args.duration), "--warmup", str(self.args.warmup),
               "--header", f"Authorization: Bearer {self.token}"] + extra
        if pid:
            cmd += ["--cpu-pid", str(pid)]
        out = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=raise_nofile,
                             timeout=self.args.duration + self.args.warmup + 60)
        if out.returncode != 0:
            raise RuntimeError(f"wsbench failed: {out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def idle(self, target, tls, sessions):
        """Holds `sessions` idle sessions through a target, in two batches: a quarter first, then the
        rest. Returns the RSS growth per session of the second batch (the marginal cost: what the
        first sessions also pay once, such as per-thread buffers and pools growing, is left out for
        every target alike) and, for reference, the growth averaged over all sessions."""
        t = self.targets[target]
        url = t["tls"] if tls else t["plain"]
        pid = t["pid"]

        def hold(n, seconds):
            cmd = ["taskset", "-c", CLIENT_CPU, BIN["wsbench"], "--mode", "idle", "--url", url,
                   "--connections", str(n), "--duration", str(seconds),
                   "--header", f"Authorization: Bearer {self.token}", "--sources", str(1 + n // 20000)]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
            return proc, json.loads(proc.stdout.readline())

        def finish(proc):
            result = json.loads(proc.stdout.readline())
            proc.wait()
            return result

        first_n = max(1, sessions // 4)
        before = rss_kib(pid)
        first, first_ready = hold(first_n, 12)
        time.sleep(1.5)
        with_first = rss_kib(pid)
        second, second_ready = hold(sessions - first_n, 3)
        time.sleep(1.5)
        held = rss_kib(pid)
        errors = (first_ready["errors"] + second_ready["errors"] + finish(second)["errors"])
        first.kill()  # its hold outlasts the measurement; the proxy sees the connections close
        first.wait()
        time.sleep(1)  # let the proxy close the sessions before the next measurement
        established = first_ready["established"] + second_ready["established"]
        return {"target": target, "tls": tls, "sessions": established, "errors": errors,
                "rss_before_kib": before, "rss_first_kib": with_first, "rss_held_kib": held,
                "kib_per_session": (held - with_first) / max(1, second_ready["established"]),
                "kib_per_session_avg": (held - before) / max(1, established)}


def summarize(runs):
    """Medians and spreads per scenario and target."""
    out = {}
    for r in runs:
        out.setdefault(r["scenario"], {}).setdefault(r["target"], []).append(r)
    summary = {}
    for scenario, by_target in out.items():
        summary[scenario] = {}
        for target, rs in by_target.items():
            def med(key):
                return statistics.median(x[key] for x in rs)

            def spread(key):
                return [min(x[key] for x in rs), max(x[key] for x in rs)]
            summary[scenario][target] = {
                "rounds": len(rs), "msgs_per_s": med("msgs_per_s"), "msgs_spread": spread("msgs_per_s"),
                "cpu_us_per_msg": med("cpu_us_per_msg"), "cpu_spread": spread("cpu_us_per_msg"),
                "p50_us": med("p50_us"), "p99_us": med("p99_us"), "p999_us": med("p999_us"),
                "errors": sum(x["errors"] for x in rs)}
    return summary


def ratio(a, b):
    return a / b if b else float("nan")


def round_ratios(runs, scenario, value, reference):
    """wsgate's ratio to `reference` in each round where both ran (seconds apart). This machine
    switches between speed modes for minutes at a time (every target ~25 % faster in some rounds):
    medians taken per target would compare rounds of different modes, while a round's targets
    nearly always share one. `value(run, round_runs)` gives a run's figure."""
    rounds = {}
    for r in runs:
        if r["scenario"] == scenario:
            rounds.setdefault(r["round"], {})[r["target"]] = r
    ratios = []
    for by_target in rounds.values():
        if "wsgate" in by_target and reference in by_target:
            ref = value(by_target[reference], by_target)
            if ref:
                ratios.append(value(by_target["wsgate"], by_target) / ref)
    return ratios


def paired(runs, scenario, value, reference):
    """wsgate against one reference: the median over rounds of the per-round ratio."""
    ratios = round_ratios(runs, scenario, value, reference)
    return statistics.median(ratios) if ratios else float("nan")


def versus_peers(runs, scenario, value, lower_is_better):
    """wsgate against each peer separately (median of the per-round ratios, with their spread), and
    the peer least favourable to wsgate by that median: the one to beat. Taking the better of the
    two peers in each round instead would be biased against wsgate on a noisy machine, since the
    better of two noisy figures is better than either is on average."""
    per_peer = {}
    for peer in PEERS:
        ratios = round_ratios(runs, scenario, value, peer)
        if ratios:
            per_peer[peer] = {"median": statistics.median(ratios), "spread": [min(ratios), max(ratios)],
                              "rounds": len(ratios)}
    if not per_peer:
        return float("nan"), None, per_peer
    pick = max if lower_is_better else min
    best = pick(per_peer, key=lambda p: per_peer[p]["median"])
    return per_peer[best]["median"], best, per_peer


def check_targets(runs, idle):
    """The issue's targets, each with its measured figure (a paired ratio) and whether it holds."""
    checks = []
    scenarios = {r["scenario"] for r in runs}

    def add(name, value, limit, ok, per_peer=None):
        checks.append({"target": name, "value": round(value, 3) if value == value else None,
                       "limit": limit, "met": bool(ok), "peers": per_peer or {}})

    def peers(name, scenario, value, lower_is_better, limit, ok):
        v, best, per_peer = versus_peers(runs, scenario, value, lower_is_better)
        add(f"{name} vs best peer ({best})" if best else f"{name} vs best peer", v, limit, ok(v), per_peer)

    def msgs(r, _):
        return r["msgs_per_s"]

    def cpu(r, _):
        return r["cpu_us_per_msg"]

    if "echo64" in scenarios:
        v = paired(runs, "echo64", cpu, "floor")
        add("echo64 CPU/msg vs floor", v, "<= 1.05", v <= 1.05)
        peers("echo64 msgs/s", "echo64", msgs, False, ">= 1.0", lambda v: v >= 1.0)
    if "echo16k" in scenarios:
        v = paired(runs, "echo16k", cpu, "haproxy")
        add("echo16k CPU/msg vs HAProxy", v, "<= 0.6", v <= 0.6)
        peers("echo16k msgs/s", "echo16k", msgs, False, ">= 1.1", lambda v: v >= 1.1)
    if "echo64_tls" in scenarios:
        peers("echo64 TLS msgs/s", "echo64_tls", msgs, False, ">= 1.1", lambda v: v >= 1.1)
        peers("echo64 TLS CPU/msg", "echo64_tls", cpu, True, "<= 0.9", lambda v: v <= 0.9)
    if "echo16k_tls" in scenarios:
        peers("echo16k TLS msgs/s", "echo16k_tls", msgs, False, ">= 1.0", lambda v: v >= 1.0)
    if "latency5k" in scenarios:
        for q in ("p50_us", "p99_us"):
            def added(r, round_runs, q=q):  # latency the proxy adds to the round's direct
                return r[q] - round_runs["direct"][q]
            peers(f"latency5k added {q[:3]}", "latency5k", added, True, "<= 1.0", lambda v: v <= 1.0)
    if "upgrades" in scenarios:
        v = paired(runs, "upgrades", cpu, "floor")
        add("upgrade CPU vs floor", v, "<= 1.10", v <= 1.10)
        peers("upgrade CPU", "upgrades", cpu, True, "<= 0.85", lambda v: v <= 0.85)
        peers("upgrades/s", "upgrades", msgs, False, ">= 1.1", lambda v: v >= 1.1)
    for scenario, limit in (("upgrades_tls", 0.95), ("upgrades_tls_resumed", 0.85), ("upgrades_tls12", 0.95)):
        if scenario in scenarios:
            peers(f"{scenario} CPU", scenario, cpu, True, f"<= {limit}", lambda v, limit=limit: v <= limit)
    for row in idle:
        if row["target"] == "wsgate" and row["sessions"] < 5000:
            limit = 10 if row["tls"] else 3
            add(f"idle KiB/session {'TLS' if row['tls'] else 'plain'}", row["kib_per_session"],
                f"<= {limit}", row["kib_per_session"] <= limit)
    return checks


def report(results, path_md, path_png):
    s, idle, checks = results["summary"], results["idle"], results["targets"]
    lines = ["# wsgate benchmark", "",
             f"Run {results['started']} on {results['machine']}; {results['rounds']} interleaved rounds of "
             f"{results['duration']} s (+{results['warmup']} s warm-up) per scenario and target; medians, "
             "spreads as [min, max]. Client and backend pinned to CPU 0, the proxy to CPU 1 (`taskset`). "
             "Proxy CPU per message = (utime+stime) of the proxy over the window / messages echoed.", "",
             "| scenario | target | msgs/s (spread) | × direct | proxy CPU µs/msg (spread) | p50 µs | p99 µs | errors |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for scenario, by_target in s.items():
        direct = by_target.get("direct", {}).get("msgs_per_s", 0)
        for target, r in by_target.items():
            cpu = "" if target == "direct" else \
                f"{r['cpu_us_per_msg']:.2f} [{r['cpu_spread'][0]:.2f}, {r['cpu_spread'][1]:.2f}]"
            lines.append(f"| {scenario} | {target} | {r['msgs_per_s']:.0f} [{r['msgs_spread'][0]:.0f}, "
                         f"{r['msgs_spread'][1]:.0f}] | {ratio(r['msgs_per_s'], direct):.2f} | {cpu} | "
                         f"{r['p50_us']:.0f} | {r['p99_us']:.0f} | {r['errors']} |")
    lines += ["", "For `upgrades`, a message is one connect + upgrade + close cycle.", "",
              "## Idle sessions (user-space RSS growth of the proxy)", "",
              "Sessions are opened in two batches, a quarter then the rest; KiB per session is the "
              "growth over the second batch (what the first sessions pay once, such as buffers and "
              "pools, is left out for every target alike); the average over all sessions is beside it.", "",
              "| target | TLS | sessions | KiB per session | average incl. first batch | "
              "RSS before → first quarter → held (KiB) | errors |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in idle:
        lines.append(f"| {r['target']} | {'yes' if r['tls'] else 'no'} | {r['sessions']} | "
                     f"{r['kib_per_session']:.2f} | {r['kib_per_session_avg']:.2f} | "
                     f"{r['rss_before_kib']} → {r['rss_first_kib']} → {r['rss_held_kib']} | {r['errors']} |")
    lines += ["", "## Targets", "",
              "Each figure is the median over rounds of wsgate's ratio to a reference measured in the "
              "same round (the floor, HAProxy, or each peer). Against the peers, each peer's median "
              "is taken separately, with the spread of its per-round ratios, and the best peer is the "
              "one whose median is least favourable to wsgate; added latency is a target's p50 or p99 "
              "minus the same round's direct one.", "",
              "| target | measured | limit | met | per peer: median [spread] |", "| --- | --- | --- | --- | --- |"]
    for c in checks:
        detail = ", ".join(f"{p} {v['median']:.3f} [{v['spread'][0]:.3f}, {v['spread'][1]:.3f}]"
                           for p, v in c.get("peers", {}).items())
        lines.append(f"| {c['target']} | {c['value']} | {c['limit']} | {'yes' if c['met'] else '**no**'} | {detail} |")
    lines += ["", f"![throughput relative to direct]({os.path.basename(path_png)})", ""]
    with open(path_md, "w") as f:
        f.write("\n".join(lines))
    plot(s, path_png)


def plot(summary, path_png):
    if not shutil.which("gnuplot"):
        return
    targets = ["floor", "wsgate", "nginx", "haproxy"]
    data = os.path.join(os.path.dirname(path_png), "latest.dat")
    with open(data, "w") as f:
        f.write("scenario " + " ".join(targets) + "\n")
        for scenario, by_target in summary.items():
            direct = by_target.get("direct", {}).get("msgs_per_s", 0)
            vals = [f"{ratio(by_target[t]['msgs_per_s'], direct):.3f}" if t in by_target else "NaN"
                    for t in targets]
            f.write(scenario + " " + " ".join(vals) + "\n")
    script = f"""set terminal pngcairo size 1000,500 noenhanced
set output '{path_png}'
set title 'Throughput relative to a direct connection (higher is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set key top right
plot '{data}' using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), \\
     '' using 4 title columnheader(4), '' using 5 title columnheader(5)
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False, capture_output=True)
    os.remove(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--targets", default="direct,floor,wsgate,nginx,haproxy")
    ap.add_argument("--idle-sessions", type=int, default=2000)
    ap.add_argument("--idle-max", type=int, default=9900,
                    help="sessions for the one-process capacity run of wsgate (0 skips it)")
    ap.add_argument("--smoke", action="store_true", help="short CI check of wsbench, backend and wsgate")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.duration, args.warmup = 1, 2, 0.5
        args.scenarios, args.targets, args.idle_sessions, args.idle_max = "echo64", "direct,wsgate", 200, 0
    scenarios = [x for x in args.scenarios.split(",") if x]
    wanted = set(args.targets.split(","))
    for tool in ("taskset", "openssl") + tuple(t for t in ("nginx", "haproxy") if t in wanted):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not installed (scripts/install-deps.sh --bench installs it)")

    # SIGTERM takes the same way out as Ctrl-C, so every process started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    bench = Bench(args)
    runs, idle = [], []
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        bench.start(wanted)
        for scenario in scenarios:
            extra, targets, tls = SCENARIOS[scenario]
            targets = [t for t in targets if t in wanted]
            for rnd in range(args.rounds):
                for target in targets:
                    t = bench.targets[target]
                    url = t["tls"] if tls and t["tls"] else t["plain"]
                    r = bench.wsbench(url, extra, t["pid"])
                    r.update(scenario=scenario, target=target, round=rnd)
                    runs.append(r)
                    print(f"{scenario:12} round {rnd} {target:8} {r['msgs_per_s']:10.0f} msgs/s "
                          f"cpu {r['cpu_us_per_msg']:7.2f} us/msg p50 {r['p50_us']:8.1f} "
                          f"p99 {r['p99_us']:8.1f} errors {r['errors']}", flush=True)
        if args.idle_sessions:
            for target in ("floor", "wsgate", "nginx", "haproxy"):
                if target not in wanted:
                    continue
                for tls in (False, True):
                    if tls and not bench.targets[target]["tls"]:
                        continue
                    # Fresh processes: a heap grown by earlier scenarios would hide the growth.
                    bench.restart(wanted)
                    row = bench.idle(target, tls, args.idle_sessions)
                    idle.append(row)
                    print(f"idle {target:8} tls={tls!s:5} {row['sessions']} sessions "
                          f"{row['kib_per_session']:.2f} KiB/session errors {row['errors']}", flush=True)
        if args.idle_max and "wsgate" in wanted:
            bench.restart(wanted)
            row = bench.idle("wsgate", False, args.idle_max)
            row["per_million_gib"] = row["kib_per_session"] * 1e6 / 1024 / 1024
            idle.append(row)
            print(f"idle capacity: wsgate held {row['sessions']} sessions, {row['kib_per_session']:.2f} "
                  f"KiB/session, 1,000,000 sessions ~ {row['per_million_gib']:.1f} GiB user space", flush=True)
    finally:
        bench.stop()

    summary = summarize(runs)
    results = {"started": started, "machine": f"{os.cpu_count()} CPUs, {os.uname().release}",
               "rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
               "summary": summary, "idle": idle, "runs": runs}
    if args.smoke:
        r = summary["echo64"]["wsgate"]
        ok = r["msgs_per_s"] > 0 and r["errors"] == 0 and summary["echo64"]["direct"]["errors"] == 0
        ok = ok and all(row["errors"] == 0 and row["sessions"] == args.idle_sessions for row in idle)
        print(f"bench smoke: wsgate {r['msgs_per_s']:.0f} msgs/s, {r['cpu_us_per_msg']:.2f} us CPU/msg, "
              f"idle {idle[0]['kib_per_session']:.2f} KiB/session: {'ok' if ok else 'FAILED'}")
        sys.exit(0 if ok else 1)
    results["targets"] = check_targets(runs, idle)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(results, f, indent=1)
    report(results, os.path.join(args.out, "latest.md"), os.path.join(args.out, "latest.png"))
    print(open(os.path.join(args.out, "latest.md")).read())


if __name__ == "__main__":
    main()
