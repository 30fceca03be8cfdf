#!/usr/bin/env python3
"""The handshake cost of client certificates (issue 33): full TLS handshakes by `openssl s_time
-new` against two listeners of one wsgate, one without client_auth and one that requires a client
certificate (a P-256 CA and client made here), in interleaved rounds; wsgate's CPU per handshake.
wsgate runs on its own CPU, the client on the other.

  bench/mtls_cost.py                   3 rounds of 4 s per listener
  bench/mtls_cost.py --rounds 6 --seconds 5
Writes bench/results/mtls_cost.json and mtls_cost.md.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (processes, CPUs, ports)



def sh(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    d = tempfile.mkdtemp(prefix="wsgate-mtls-")
    procs = []
    try:
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        sh(d, "req", "-x509", *ec, "-keyout", "server.key", "-out", "server.crt", "-days", "2", "-subj", "/CN=localhost")
        sh(d, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench-ca",
           "-addext", "basicConstraints=critical,CA:TRUE")
        sh(d, "req", "-new", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=bench-client")
        sh(d, "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
           "-out", "client.crt", "-days", "2")
        plain, mtls = bench_run.free_port(), bench_run.free_port()
        conf = os.path.join(d, "wsgate.yaml")
        with open(conf, "w") as f:
            f.write(f"""threads: 1
log: {{ level: error }}
access_log: {{ enabled: false }}
listeners:
  - {{ name: tls, bind: "127.0.0.1:{plain}", http2: false, tls: {{ certificates: [ {{ cert: server.crt, key: server.key }} ] }} }}
  - name: mtls
    bind: "127.0.0.1:{mtls}"
    http2: false
    tls:
      certificates: [ {{ cert: server.crt, key: server.key }} ]
      client_auth: {{ mode: required, ca_file: ca.crt }}
admin: {{ bind: "127.0.0.1:0" }}
routes: [ {{ name: r, match: {{ path_prefix: / }}, backends: [ "ws://127.0.0.1:9" ] }} ]
""")
        wsgate = bench_run.Process("wsgate", [bench_run.BIN["wsgate"], "--config", conf], bench_run.PROXY_CPU, d, cwd=d)
        procs.append(wsgate)
        bench_run.wait_port(mtls)
        targets = {"server certificate only": (plain, []),
                   "client certificate required": (mtls, ["-cert", "client.crt", "-key", "client.key"])}
        rows = {name: [] for name in targets}
        for rnd in range(args.rounds):
            order = list(targets) if rnd % 2 == 0 else list(reversed(targets))
            for name in order:
                port, extra = targets[name]
                t0 = sum(bench_run.cpu_ticks(wsgate.pid))
                out = subprocess.run(["taskset", "-c", bench_run.CLIENT_CPU, "openssl", "s_time", "-connect",
                                      f"127.0.0.1:{port}", "-new", "-time", str(args.seconds), *extra],
                                     cwd=d, capture_output=True, text=True).stdout
                m = re.search(r"(\d+) connections in [\d.]+s", out)
                handshakes = int(m.group(1)) if m else 0
                us = (sum(bench_run.cpu_ticks(wsgate.pid)) - t0) * tick_us / max(handshakes, 1)
                rows[name].append(us)
                print(f"round {rnd} {name:28} {us:7.1f} us of wsgate CPU per handshake ({handshakes})", flush=True)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(d, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in rows.items()}
    ratio = medians["client certificate required"] / medians["server certificate only"]
    lines = ["# The handshake cost of client certificates", "",
             f"`bench/mtls_cost.py --rounds {args.rounds} --seconds {args.seconds}`, {time.strftime('%Y-%m-%d %H:%M')}: "
             "full handshakes (`openssl s_time -new`, TLS 1.3, P-256), wsgate on its own CPU.", "",
             "| listener | wsgate CPU per full handshake (median) |", "| --- | --- |"]
    lines += [f"| {k} | {v:.1f} us |" for k, v in medians.items()]
    lines.append(f"| ratio | {ratio:.3f} |")
    bench_run.write_results("mtls_cost", {"median_us": medians, "rounds": rows, "ratio": ratio}, lines)


if __name__ == "__main__":
    main()
