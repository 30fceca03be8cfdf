#!/usr/bin/env python3
"""DNS discovery's costs (issue 32), against Debian's dnsmasq on loopback:

1. The upgrade cycle's proxy CPU on a route whose backend is discovered (discover: dns) against
   the same backend written as an address, in interleaved rounds through one wsgate: no lookup
   happens on the data path, so the two should not differ beyond noise.
2. The time from a DNS change (a pod added or removed, dnsmasq reloaded, at a random point of the
   refresh period) to wsgate serving from the new set (its discovery_changed line), at
   dns.refresh 1s and 5s (the default): about half the refresh on average, the whole at most.

Keys moved when one backend of N joins or leaves are build/bench/hash_balance's (ring and Maglev):
discovered backends are placed by their address as any backend is by its URL.

  bench/discovery.py                   3 rounds of 4 s per route, 5 changes per refresh
  bench/discovery.py --rounds 5 --seconds 6 --changes 8
Writes bench/results/discovery.json and discovery.md.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, credentials, CPUs)

CONFIG = """threads: 1
log: {{ level: info }}
access_log: {{ enabled: false }}
listeners: [ {{ name: plain, bind: "127.0.0.1:{port}" }} ]
admin: {{ bind: "127.0.0.1:0" }}
dns: {{ nameservers: [ "127.0.0.1:{dns_port}" ], refresh: {refresh} }}
routes:
  - {{ name: static, match: {{ path_prefix: /static }}, backends: [ "ws://127.0.0.2:{backend_port}" ],
      limits: {{ ping_interval: 0s }} }}
  - {{ name: discovered, match: {{ path_prefix: /discovered }}, limits: {{ ping_interval: 0s }},
      backends: [ {{ url: "ws://pods.bench.test:{backend_port}", discover: dns }} ] }}
"""



class Dnsmasq:
    def __init__(self, d, port):
        self.hosts = os.path.join(d, "bench.hosts")
        self.write(["127.0.0.2"])
        self.proc = subprocess.Popen(
            ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--log-facility=-", f"--port={port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-negcache",
             f"--addn-hosts={self.hosts}", "--conf-file=/dev/null", "--local-ttl=1", "--local=/bench.test/",
             "--pid-file=", "--user=root"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Ready (its SIGHUP handler installed) once it has read the hosts file: a SIGHUP before that
        # would end it.
        for line in self.proc.stderr:
            if "read " in line and self.hosts in line:
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def write(self, ips):
        with open(self.hosts, "w") as f:
            f.write("".join(f"{ip} pods.bench.test\n" for ip in ips))

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Gateway:
    """wsgate on a configuration, its stderr read line by line for discovery_changed."""

    def __init__(self, d, conf):
        self.proc = subprocess.Popen(["taskset", "-c", bench_run.PROXY_CPU, bench_run.BIN["wsgate"], "--config", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.changes = []  # monotonic times of discovery_changed lines
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            if " discovery_changed " in line:
                with self.cv:
                    self.changes.append(time.monotonic())
                    self.cv.notify_all()

    def wait_change(self, count, timeout=30):
        with self.cv:
            return self.cv.wait_for(lambda: len(self.changes) >= count, timeout)

    def stop(self):
        bench_run.stop_process(self.proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--changes", type=int, default=5)
    args = ap.parse_args()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    d = tempfile.mkdtemp(prefix="wsgate-discovery-")
    procs, result = [], {"upgrade_cpu_us": {}, "change_to_serving_ms": {}}
    try:
        backend_port = bench_run.free_port()
        for ip in ("127.0.0.2", "127.0.0.3"):
            b = bench_run.Process(f"backend-{ip}", [bench_run.BIN["echo_backend"], "--port", str(backend_port),
                                                    "--host", ip], bench_run.CLIENT_CPU, d)
            procs.append(b)
            b.first_line()
        dns_port = bench_run.free_port()
        dns = Dnsmasq(d, dns_port)
        for refresh in ("1s", "5s"):
            port = bench_run.free_port()
            conf = os.path.join(d, f"wsgate-{refresh}.yaml")
            with open(conf, "w") as f:
                f.write(CONFIG.format(port=port, dns_port=dns_port, refresh=refresh, backend_port=backend_port))
            dns.write(["127.0.0.2"])
            dns.reload()
            gw = Gateway(d, conf)
            bench_run.wait_port(port)
            if not gw.wait_change(1):
                raise SystemExit("wsgate never discovered pods.bench.test")
            if refresh == "1s":
                rows = {"static": [], "discovered": []}
                for rnd in range(args.rounds):
                    # Each goes first in every other round, so that neither pays for going second.
                    for name in (["static", "discovered"] if rnd % 2 == 0 else ["discovered", "static"]):
                        t0 = sum(bench_run.cpu_ticks(gw.pid))
                        out = subprocess.run(["taskset", "-c", bench_run.CLIENT_CPU, bench_run.BIN["wsbench"],
                                              "--mode", "upgrade", "--connections", "10", "--url",
                                              f"ws://127.0.0.1:{port}/{name}", "--duration", str(args.seconds)],
                                             capture_output=True, text=True, check=True).stdout
                        cycles = json.loads(out.splitlines()[0])["established"]
                        us = (sum(bench_run.cpu_ticks(gw.pid)) - t0) * tick_us / max(cycles, 1)
                        rows[name].append(us)
                        print(f"round {rnd} {name:10} {us:6.1f} us per cycle ({cycles} cycles)", flush=True)
                result["upgrade_cpu_us"] = {k: {"median": statistics.median(v), "rounds": v} for k, v in rows.items()}
            waits = []
            period = float(refresh.rstrip("s"))
            for i in range(args.changes):
                # At a random point of the refresh period, as a real change would come.
                time.sleep(random.uniform(0, period))
                ips = ["127.0.0.2", "127.0.0.3"] if i % 2 == 0 else ["127.0.0.2"]
                seen = len(gw.changes)
                dns.write(ips)
                t0 = time.monotonic()
                dns.reload()
                if not gw.wait_change(seen + 1):
                    raise SystemExit(f"refresh {refresh}: no discovery_changed within 30 s")
                waits.append((gw.changes[seen] - t0) * 1000)
                print(f"refresh {refresh}: change {i} served after {waits[-1]:.0f} ms", flush=True)
            result["change_to_serving_ms"][refresh] = {"median": statistics.median(waits), "max": max(waits),
                                                       "changes": waits}
            gw.stop()
        dns.stop()
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)
    cpu = result["upgrade_cpu_us"]
    lines = ["# DNS discovery", "",
             f"`bench/discovery.py --rounds {args.rounds} --seconds {args.seconds} --changes {args.changes}`, "
             f"{time.strftime('%Y-%m-%d %H:%M')}; wsgate on CPU {bench_run.PROXY_CPU}, client and backends on "
             f"CPU {bench_run.CLIENT_CPU}.", "",
             "| upgrade cycle, proxy CPU | static address | discovered (discover: dns) | ratio |",
             "| --- | --- | --- | --- |",
             f"| median of {args.rounds} rounds | {cpu['static']['median']:.1f} us | {cpu['discovered']['median']:.1f} us "
             f"| {cpu['discovered']['median'] / cpu['static']['median']:.3f} |", "",
             "| dns.refresh | DNS change to serving from the new set, median | max |", "| --- | --- | --- |"]
    for refresh, w in result["change_to_serving_ms"].items():
        lines.append(f"| {refresh} | {w['median']:.0f} ms | {w['max']:.0f} ms |")
    bench_run.write_results("discovery", result, lines)


if __name__ == "__main__":
    main()
