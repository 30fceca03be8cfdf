#!/usr/bin/python3
"""An HTTP/2 client (Debian's python3-h2 over TLS with ALPN h2) for the RFC 8441 tests. Prints one
JSON object and exits 0 unless the connection could not be made.

  h2_client.py PORT ws PATH [PATH...]   one WebSocket per PATH, all on one connection at once: each
                                        sends "hello <i>" and 3 random binary bytes, reads the echoes,
                                        closes with 1000 ("bye")
  h2_client.py PORT get PATH            a plain GET: status and body
  h2_client.py PORT post PATH BODY      a plain POST with a body in two DATA frames
  h2_client.py PORT reset PATH          a WebSocket that echoes once, then RST_STREAM(CANCEL); then a
                                        second WebSocket on the same connection echoes
  h2_client.py PORT ask PATH TEXT [HEADERS]  a WebSocket (with these extra headers, a JSON list of
                                        pairs) that sends TEXT and reports the first answer
  h2_client.py PORT stall PATH N SIZE   a WebSocket that asks for N messages of SIZE bytes, reads
                                        nothing until a line arrives on stdin, then reads them all
  h2_client.py PORT idle                opens no stream; reports the seconds until the GOAWAY
  h2_client.py PORT big PATH SIZE       a WebSocket that sends one binary message of SIZE bytes and
                                        waits for the close frame
  h2_client.py PORT hold PATH           a WebSocket that echoes once and then waits (up to 10 s) for
                                        the gateway: GOAWAY and the close frame (a drain)
  h2_client.py PORT attack KIND PATH    KIND: rapid_reset, continuation, hpack_bomb, ping_flood,
                                        settings_flood; reports the GOAWAY the gateway sent
  h2_client.py PORT raw PATH HEADERS    a stream with exactly these headers (JSON list of pairs)
  h2_client.py PORT closejunk PATH      a WebSocket that sends a close (1000) and, in the same DATA
                                        frame, a frame with a reserved opcode; reports the closes

Output: {"alpn", "streams": [{"status", "messages", "close_code", "close_reason"}], "goaway",
"status", "body", "reset_by_server"}."""
import json
import os
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack

port, mode = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]
out = {"streams": [], "goaway": None}

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2", "http/1.1"])
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
sock.settimeout(10)
out["alpn"] = sock.selected_alpn_protocol()
if out["alpn"] != "h2":
    print(json.dumps(out))
    sys.exit(0)

conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

streams = {}   # id -> state
ended = False  # the server ended the connection


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def parse_frames(state):
    buf = state["buf"]
    while len(buf) >= 2:
        opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                break
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            break
        payload, buf = buf[pos:pos + n], buf[pos + n:]
        if opcode == 1:
            state["messages"].append(payload.decode())
        elif opcode == 2:
            state["messages"].append("binary:" + payload.hex())
        elif opcode == 8:
            state.setdefault("closes", []).append(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005)
            state["close_code"] = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            state["close_reason"] = payload[2:].decode(errors="replace")
    state["buf"] = buf


def pump(until, timeout=10):
    """Reads and handles events until until() or the timeout; returns until()."""
    global ended
    deadline = time.time() + timeout
    while not until() and time.time() < deadline and not ended:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionError, ssl.SSLError):
            ended = True
            break
        if not data:
            ended = True
            break
        for event in conn.receive_data(data):
            handle(event)
        pending = conn.data_to_send()
        if pending:
            try:
                sock.sendall(pending)
            except (ConnectionError, ssl.SSLError):
                ended = True
    return until()


def handle(event):
    if isinstance(event, h2.events.ResponseReceived):
        st = streams[event.stream_id]
        st["status"] = int(dict(event.headers)[":status"])
        st["headers"] = dict(event.headers)
    elif isinstance(event, h2.events.DataReceived):
        st = streams.get(event.stream_id)
        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        if st is None:
            return
        if st["websocket"]:
            st["buf"] += event.data
            parse_frames(st)
        else:
            st["body"] += event.data
    elif isinstance(event, h2.events.StreamEnded):
        if event.stream_id in streams:
            streams[event.stream_id]["ended"] = True
    elif isinstance(event, h2.events.StreamReset):
        if event.stream_id in streams:
            streams[event.stream_id]["reset_code"] = int(event.error_code)
    elif isinstance(event, h2.events.ConnectionTerminated):
        out["goaway"] = int(event.error_code)
        out["goaway_last"] = event.last_stream_id


def raw_frames(until, timeout=30):
    """Yields (type, flags, stream, payload) as they arrive until until(); notes a GOAWAY's code."""
    buf, deadline = b"", time.time() + timeout
    while not until() and time.time() < deadline:
        try:
            data = sock.recv(65536)
        except (socket.timeout, ConnectionError, ssl.SSLError):
            return
        if not data:
            return
        buf += data
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            ftype, flags, fsid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload, buf = buf[9:9 + n], buf[9 + n:]
            if ftype == 0x7:
                out["goaway"] = struct.unpack("!I", payload[4:8])[0]
            yield ftype, flags, fsid, payload


def open_stream(path, websocket=True, extra=(), end=False):
    sid = conn.get_next_available_stream_id()
    if websocket:
        headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                   (":authority", "localhost"), (":path", path), ("sec-websocket-version", "13")]
    else:
        headers = [(":method", extra[0]), (":scheme", "https"), (":authority", "localhost"), (":path", path)]
        extra = extra[1:]
    headers += list(extra)
    streams[sid] = {"status": None, "messages": [], "close_code": None, "close_reason": None, "buf": b"",
                    "body": b"", "websocket": websocket, "ended": False, "reset_code": None}
    conn.send_headers(sid, headers, end_stream=end)
    sock.sendall(conn.data_to_send())
    return sid


def send(sid, data, end=False):
    conn.send_data(sid, data, end_stream=end)
    sock.sendall(conn.data_to_send())


def report(sid):
    st = streams[sid]
    return {"status": st["status"], "messages": st["messages"], "close_code": st["close_code"],
            "close_reason": st["close_reason"], "reset_code": st["reset_code"], "ended": st["ended"],
            "body": st["body"].decode(errors="replace") if not st["websocket"] else None}


def echo_once(sid, i):
    send(sid, ws_frame(1, f"hello {i}".encode()))
    pump(lambda: len(streams[sid]["messages"]) >= 1)


def server_settings_seen():
    return conn.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) == 1


pump(server_settings_seen, 5)
out["enable_connect_protocol"] = server_settings_seen()

if mode == "ws":
    ids = [open_stream(p) for p in args]
    pump(lambda: all(streams[s]["status"] is not None for s in ids))
    for i, sid in enumerate(ids):
        if streams[sid]["status"] == 200:
            send(sid, ws_frame(1, f"hello {i}".encode()))
            send(sid, ws_frame(2, bytes([i, 1, 2])))
    pump(lambda: all(len(streams[s]["messages"]) >= 2 or streams[s]["status"] != 200 for s in ids))
    for sid in ids:
        if streams[sid]["status"] == 200:
            send(sid, ws_frame(8, struct.pack("!H", 1000) + b"bye"))
    pump(lambda: all(streams[s]["close_code"] is not None or streams[s]["status"] != 200 for s in ids))
    for sid in ids:
        if streams[sid]["status"] == 200 and not conn.state_machine.state == "CLOSED":
            try:
                send(sid, b"", end=True)
            except Exception:
                pass
    pump(lambda: all(streams[s]["ended"] or streams[s]["status"] != 200 for s in ids), 3)
    out["streams"] = [report(s) for s in ids]
elif mode in ("get", "post"):
    if mode == "get":
        sid = open_stream(args[0], websocket=False, extra=("GET",), end=True)
    else:
        sid = open_stream(args[0], websocket=False, extra=("POST", ("content-type", "text/plain")))
        body = args[1].encode()
        send(sid, body[:len(body) // 2])
        send(sid, body[len(body) // 2:], end=True)
    pump(lambda: streams[sid]["ended"] or streams[sid]["reset_code"] is not None)
    out["streams"] = [report(sid)]
elif mode == "reset":
    first = open_stream(args[0])
    pump(lambda: streams[first]["status"] is not None)
    echo_once(first, 0)
    conn.reset_stream(first, 8)
    sock.sendall(conn.data_to_send())
    second = open_stream(args[0])
    pump(lambda: streams[second]["status"] is not None)
    echo_once(second, 1)
    out["streams"] = [report(first), report(second)]
elif mode == "ask":
    extra = [tuple(h) for h in json.loads(args[2])] if len(args) > 2 else []
    sid = open_stream(args[0], extra=extra)
    pump(lambda: streams[sid]["status"] is not None)
    if streams[sid]["status"] == 200:
        send(sid, ws_frame(1, args[1].encode()))
        pump(lambda: len(streams[sid]["messages"]) >= 1)
    out["streams"] = [report(sid)]
elif mode == "stall":
    # Asks the backend for N messages of SIZE bytes, reads nothing until the test says (a line on
    # stdin), then reads them all and reports how many came whole and in order.
    n, size = int(args[1]), int(args[2])
    sid = open_stream(args[0])
    pump(lambda: streams[sid]["status"] is not None)
    send(sid, ws_frame(1, f"burst {n} {size}".encode()))
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    sock.settimeout(30)
    pump(lambda: len(streams[sid]["messages"]) >= n, 60)
    msgs = streams[sid]["messages"]
    out["in_order"] = sum(1 for i, m in enumerate(msgs) if m.startswith(f"{i}:") and len(m) == size)
    bad = [(i, m[:12], len(m)) for i, m in enumerate(msgs) if not (m.startswith(f"{i}:") and len(m) == size)]
    out["first_bad"] = bad[:3]
    out["streams"] = [{"status": streams[sid]["status"], "count": len(msgs)}]
elif mode == "idle":
    started = time.time()
    for _ in raw_frames(lambda: out["goaway"] is not None, 15):
        pass
    out["seconds_to_goaway"] = time.time() - started
elif mode == "big":
    sid = open_stream(args[0])
    pump(lambda: streams[sid]["status"] is not None)
    send(sid, ws_frame(2, os.urandom(int(args[1]))))
    pump(lambda: streams[sid]["close_code"] is not None)
    out["streams"] = [report(sid)]
elif mode == "closejunk":
    sid = open_stream(args[0])
    pump(lambda: streams[sid]["status"] is not None)
    send(sid, ws_frame(8, struct.pack("!H", 1000)) + ws_frame(3, b"junk"))
    pump(lambda: streams[sid]["ended"], 5)
    pump(lambda: False, 0.3)  # anything the gateway would add behind its answer
    out["streams"] = [dict(report(sid), closes=streams[sid].get("closes", []))]
elif mode == "hold":
    sid = open_stream(args[0])
    pump(lambda: streams[sid]["status"] is not None)
    echo_once(sid, 0)
    print(json.dumps({"ready": True}), flush=True)  # the test may now drain the gateway
    # From here frames are read raw: python-h2 closes its connection state at a GOAWAY and refuses
    # the DATA that RFC 9113 6.8 still allows on the streams the GOAWAY let finish.
    sock.settimeout(30)
    for ftype, flags, fsid, payload in raw_frames(lambda: streams[sid]["close_code"] is not None and
                                                  out["goaway"] is not None):
        if ftype == 0x0 and fsid == sid:
            streams[sid]["buf"] += payload
            parse_frames(streams[sid])
    out["streams"] = [report(sid)]
elif mode == "raw":
    sid = conn.get_next_available_stream_id()
    streams[sid] = {"status": None, "messages": [], "close_code": None, "close_reason": None, "buf": b"",
                    "body": b"", "websocket": True, "ended": False, "reset_code": None}
    headers = [tuple(h) for h in json.loads(args[1])]
    if not any(h[0] == ":path" for h in headers) and any(h == (":protocol", "websocket") for h in headers):
        headers.insert(3, (":path", args[0]))
    conn.send_headers(sid, headers)
    sock.sendall(conn.data_to_send())
    pump(lambda: streams[sid]["status"] is not None or streams[sid]["reset_code"] is not None or out["goaway"] is not None)
    out["streams"] = [report(sid)]
elif mode == "attack":
    kind, path = args[0], args[1]
    enc = hpack.Encoder()
    ws_block = enc.encode([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                           (":authority", "localhost"), (":path", path), ("sec-websocket-version", "13")])

    def frame(ftype, flags, sid, payload=b""):
        return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload

    raw = b""
    if kind == "rapid_reset":
        for i in range(400):
            sid = 1 + 2 * i
            # Each head encoded alone (a fresh encoder's output stays valid for the server's decoder
            # only when it adds nothing to the dynamic table: never-indexed literals).
            block = hpack.Encoder().encode([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                                            (":authority", "localhost"), (":path", path),
                                            ("sec-websocket-version", "13")], huffman=False)
            raw += frame(0x1, 0x4, sid, block) + frame(0x3, 0, sid, struct.pack("!I", 8))
    elif kind == "continuation":
        raw = frame(0x1, 0, 1, ws_block[:5]) + b"".join(frame(0x9, 0, 1, b"") for _ in range(100))
    elif kind == "hpack_bomb":
        # One large field into the dynamic table, then one-byte references to it.
        big = b"x" * 4000
        lit = bytes([0x40, 6]) + b"x-bomb" + bytes([0x7F, (4000 - 127) % 128 | 0x80, (4000 - 127) // 128]) + big
        raw = frame(0x1, 0x4, 1, ws_block + lit + bytes([0x80 | 62]) * 2000)
    elif kind == "ping_flood":
        raw = b"".join(frame(0x6, 0, 0, struct.pack("!Q", i)) for i in range(2000))
    elif kind == "settings_flood":
        raw = b"".join(frame(0x4, 0, 0, b"") for _ in range(2000))
    try:
        sock.sendall(raw)
    except (ConnectionError, ssl.SSLError):
        pass
    # Reads raw frames until the GOAWAY (h2's state machine would refuse our own misbehaviour).
    for _ in raw_frames(lambda: out["goaway"] is not None, 10):
        pass
    out["connection_closed"] = True

print(json.dumps(out))
