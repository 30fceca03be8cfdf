#!/usr/bin/env python3
"""A backend that upgrades, waits 200 ms, then sends its last bytes and FIN in ONE TCP segment
(TCP_CORK), so the EOF already stands behind the data when the gateway reads. With EARLIER, it
first sends each of those chunks alone, 200 ms apart (the gateway has relayed, and read, before
the end comes). Prints {"port":N}.
  abrupt_backend.py HEX_OF_LAST_BYTES [HEX_OF_EARLIER_CHUNK,HEX_OF_EARLIER_CHUNK...]"""
import base64
import hashlib
import json
import socket
import sys
import threading
import time

last = bytes.fromhex(sys.argv[1])
earlier = [bytes.fromhex(h) for h in sys.argv[2].split(",")] if len(sys.argv) > 2 else []


def serve(conn):
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        for chunk in earlier:
            time.sleep(0.2)
            conn.sendall(chunk)
        time.sleep(0.2)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        conn.sendall(last)
        conn.shutdown(socket.SHUT_WR)  # the corked data leaves with the FIN
        while conn.recv(4096):
            pass


server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
print(json.dumps({"port": server.getsockname()[1]}), flush=True)
while True:
    c, _ = server.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
