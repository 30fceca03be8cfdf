#!/usr/bin/python3
"""WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1 on the same wsgate build and TLS listener:
proxy CPU per echoed 64-byte message, proxy CPU per upgrade (open, close frame both ways, end),
and RSS per idle WebSocket (many h2 streams on a few connections against one TLS connection per
HTTP/1.1 session). The clients are Python (python3-h2 for HTTP/2, the same framing by hand for
HTTP/1.1), so rates are the client's; what counts is wsgate's CPU (utime + stime of every thread,
from /proc) over the window divided by the work done, with wsgate pinned to its own CPU.

  bench/h2_cost.py [--seconds 5] [--rounds 3] [--idle 2000] [--json bench/results/h2_cost.json]
"""
import argparse
import base64
import json
import os
import selectors
import socket
import ssl
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  (the processes and their configurations)

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def count_frames(buf):
    """(whole server frames in buf, the rest): server frames are unmasked."""
    n = 0
    while len(buf) >= 2:
        size, pos = buf[1] & 0x7F, 2
        if size == 126:
            if len(buf) < 4:
                break
            size, pos = struct.unpack("!H", buf[2:4])[0], 4
        if len(buf) < pos + size:
            break
        buf = buf[pos + size:]
        n += 1
    return n, buf


def tls_socket(port, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class H2Client:
    def __init__(self, port, token):
        self.sock = tls_socket(port, "h2")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.token = token
        self.status, self.buf, self.closed = {}, {}, set()
        self.flush()
        self.read_until(lambda: self.conn.remote_settings.get(8) == 1)

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def open(self):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                                     (":authority", "localhost"), (":path", "/"), ("sec-websocket-version", "13"),
                                     ("authorization", f"Bearer {self.token}")])
        self.buf[sid] = b""
        return sid

    def read_some(self, on_frames=None):
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("closed")
        for e in self.conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived):
                self.status[e.stream_id] = int(dict(e.headers)[b":status"])
            elif isinstance(e, h2.events.DataReceived):
                self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                n, self.buf[e.stream_id] = count_frames(self.buf.get(e.stream_id, b"") + e.data)
                if on_frames and n:
                    on_frames(e.stream_id, n)
            elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
                self.closed.add(e.stream_id)
        self.flush()

    def read_until(self, done):
        while not done():
            self.read_some()


def h1_open(port, token):
    s = tls_socket(port, "http/1.1")
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    return s, head.split(b"\r\n\r\n", 1)[1]


def echo_h2(port, token, seconds, streams=20, window=4):
    c = H2Client(port, token)
    ids = [c.open() for _ in range(streams)]
    c.flush()
    c.read_until(lambda: all(i in c.status for i in ids))
    msg = ws_frame(1, b"x" * 64)
    done = {"n": 0}

    def on_frames(sid, n):
        done["n"] += n
        for _ in range(n):
            c.conn.send_data(sid, msg)

    for sid in ids:
        for _ in range(window):
            c.conn.send_data(sid, msg)
    c.flush()
    end = time.time() + seconds
    while time.time() < end:
        c.read_some(on_frames)
    c.sock.close()
    return done["n"]


def echo_h1(port, token, seconds, sessions=20, window=4):
    sel = selectors.DefaultSelector()
    msg = ws_frame(1, b"x" * 64)
    socks = []
    for _ in range(sessions):
        s, rest = h1_open(port, token)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, [rest])
        s.sendall(msg * window)
    n_total, end = 0, time.time() + seconds
    while time.time() < end:
        for key, _ in sel.select(0.5):
            try:
                data = key.fileobj.recv(262144)
            except ssl.SSLWantReadError:
                continue
            n, key.data[0] = count_frames(key.data[0] + data)
            n_total += n
            if n:
                key.fileobj.sendall(msg * n)
    for s in socks:
        s.close()
    return n_total


def upgrades_h2(port, token, seconds):
    c = H2Client(port, token)
    close = ws_frame(8, struct.pack("!H", 1000))
    count, end = 0, time.time() + seconds
    while time.time() < end:
        ids = [c.open() for _ in range(10)]
        c.flush()
        c.read_until(lambda: all(i in c.status for i in ids))
        for sid in ids:
            c.conn.send_data(sid, close, end_stream=True)
        c.flush()
        c.read_until(lambda: all(i in c.closed for i in ids))
        count += len(ids)
    c.sock.close()
    return count


def upgrades_h1(port, token, seconds):
    close = ws_frame(8, struct.pack("!H", 1000))
    count, end = 0, time.time() + seconds
    while time.time() < end:
        s, _ = h1_open(port, token)
        s.sendall(close)
        try:
            while s.recv(4096):
                pass
        except (ConnectionError, ssl.SSLError):
            pass
        s.close()
        count += 1
    return count


def measured(pid, work):
    before = cpu_seconds(pid)
    n = work()
    return n, (cpu_seconds(pid) - before) * 1e6 / max(1, n)


def idle(pid, port, token, sessions):
    base = bench_run.rss_kib(pid)
    clients = []
    for _ in range(sessions // 100):
        c = H2Client(port, token)
        ids = [c.open() for _ in range(100)]
        c.flush()
        c.read_until(lambda: all(i in c.status for i in ids))
        clients.append(c)
    time.sleep(1)
    h2_kib = (bench_run.rss_kib(pid) - base) / sessions
    for c in clients:
        c.sock.close()
    time.sleep(2)
    base = bench_run.rss_kib(pid)
    socks = [h1_open(port, token)[0] for _ in range(sessions)]
    time.sleep(1)
    h1_kib = (bench_run.rss_kib(pid) - base) / sessions
    for s in socks:
        s.close()
    return h2_kib, h1_kib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--json")
    args = ap.parse_args()
    args.duration, args.warmup = args.seconds, 0
    bench = bench_run.Bench(args)
    rows = {"echo64": {"h2": [], "http/1.1": []}, "upgrade": {"h2": [], "http/1.1": []}}
    try:
        bench.start({"wsgate"})
        t = bench.targets["wsgate"]
        port, pid, token = int(t["tls"].rsplit(":", 1)[1].split("/")[0]), t["pid"], bench.token
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            rows["echo64"]["h2"].append(measured(pid, lambda: echo_h2(port, token, args.seconds)))
            rows["echo64"]["http/1.1"].append(measured(pid, lambda: echo_h1(port, token, args.seconds)))
            rows["upgrade"]["h2"].append(measured(pid, lambda: upgrades_h2(port, token, args.seconds)))
            rows["upgrade"]["http/1.1"].append(measured(pid, lambda: upgrades_h1(port, token, args.seconds)))
        h2_kib, h1_kib = idle(pid, port, token, args.idle)
    finally:
        bench.stop()
    result = {"rounds": args.rounds, "seconds": args.seconds, "idle_sessions": args.idle,
              "idle_kib_per_session": {"h2": h2_kib, "http/1.1": h1_kib}, "cpu_us": {}}
    print("| measure | HTTP/2 | HTTP/1.1 | h2 / h1 |")
    print("| --- | --- | --- | --- |")
    for name, what in (("echo64", "proxy CPU per echoed 64 B message (µs)"),
                       ("upgrade", "proxy CPU per upgrade, open to close (µs)")):
        h2_us = statistics.median(r[1] for r in rows[name]["h2"])
        h1_us = statistics.median(r[1] for r in rows[name]["http/1.1"])
        result["cpu_us"][name] = {"h2": h2_us, "http/1.1": h1_us,
                                  "counts": {k: [r[0] for r in v] for k, v in rows[name].items()}}
        print(f"| {what} | {h2_us:.1f} | {h1_us:.1f} | {h2_us / h1_us:.2f} |")
    print(f"| RSS per idle WebSocket, {args.idle} sessions (KiB) | {h2_kib:.2f} | {h1_kib:.2f} | "
          f"{h2_kib / h1_kib:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
