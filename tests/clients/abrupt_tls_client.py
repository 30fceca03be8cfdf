#!/usr/bin/env python3
"""A wss:// client that ends abruptly: upgrades, sends "one" and "again", waiting for each echo,
then sends "two" (with close-notify: and TLS close_notify) and FIN in ONE TCP segment (TCP_CORK),
so the end already stands behind the data when the gateway reads it. Reads on until the gateway closes, and
prints {"frames": [text or "opcode N PAYLOAD_HEX", ...], "ms_to_eof": N}. OpenSSL runs on memory
BIOs, so every encrypted byte is written when and where this script says.
  abrupt_tls_client.py PORT PATH [close-notify]"""
import base64
import json
import os
import socket
import ssl
import sys
import time

port, path = int(sys.argv[1]), sys.argv[2]
close_notify = sys.argv[3:] == ["close-notify"]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
sock = socket.create_connection(("127.0.0.1", port))
sock.settimeout(5)
write_closed = False  # after our FIN: what OpenSSL still wants to send goes nowhere


def flush():
    data = outgoing.read()
    if data and not write_closed:
        sock.sendall(data)


def feed():
    data = sock.recv(65536)
    if data:
        incoming.write(data)
    else:
        incoming.write_eof()
    return bool(data)


def call(fn, *args):
    while True:
        try:
            result = fn(*args)
            flush()
            return result
        except ssl.SSLWantReadError:
            flush()
            if not feed():
                raise EOFError
        except ssl.SSLZeroReturnError:
            raise EOFError


def masked(text):
    payload = text.encode()
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


buffered = b""


def next_frame():
    """(opcode, payload) of the next unmasked frame from the gateway (payloads < 126 bytes)."""
    global buffered
    while len(buffered) < 2 or len(buffered) < 2 + (buffered[1] & 0x7F):
        data = call(tls.read, 65536)
        if not data:
            raise EOFError
        buffered += data
    size = buffered[1] & 0x7F
    frame, buffered = (buffered[0] & 0x0F, buffered[2:2 + size]), buffered[2 + size:]
    return frame


call(tls.do_handshake)
key = base64.b64encode(os.urandom(16)).decode()
call(tls.write, (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += call(tls.read, 65536)
head, buffered = head.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 101"), head
frames = []
for text in ("one", "again"):
    call(tls.write, masked(text))
    frames.append(next_frame()[1].decode())

sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
tls.write(masked("two"))
if close_notify:
    try:
        tls.unwrap()  # queues close_notify; the gateway's is not awaited
    except ssl.SSLWantReadError:
        pass
sock.sendall(outgoing.read())
sock.shutdown(socket.SHUT_WR)  # the corked records leave with the FIN
write_closed = True
t0 = time.monotonic()
try:
    while True:
        opcode, payload = next_frame()
        frames.append(payload.decode(errors="replace") if opcode == 1 else f"opcode {opcode} {payload.hex()}")
except (EOFError, ssl.SSLError, OSError):
    pass
# After our close_notify, Python's TLS object may stop reading records: wait for the TCP end too.
try:
    while sock.recv(65536):
        pass
except OSError:
    pass
print(json.dumps({"frames": frames, "ms_to_eof": round((time.monotonic() - t0) * 1000)}), flush=True)
