// Issue 35: what a peer sends behind its own close frame is discarded, whatever it is and however
// it was segmented; no side ever gets a second close; closes the gateway would start on its own
// (idle, drain) never follow a peer's close to the side that already has one.
// A hand-made backend records every frame it receives, so "exactly one close" is seen on the wire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempDir, startGateway, routeYaml, sleep, rawSession, makeCert, upgradeResponse } from './lib.mjs';

const h2Client = new URL('../clients/h2_client.py', import.meta.url).pathname;
let backend, gw;
const sessions = [];  // one per backend connection: { path, frames: [{ opcode, payload }] }

// Frames from a byte stream (masked or not); returns the bytes left over.
function parseFrames(buf, out) {
  for (;;) {
    if (buf.length < 2) return buf;
    const masked = (buf[1] & 0x80) !== 0;
    let len = buf[1] & 0x7f, at = 2;
    if (len === 126) { if (buf.length < 4) return buf; len = buf.readUInt16BE(2); at = 4; }
    else if (len === 127) { if (buf.length < 10) return buf; len = Number(buf.readBigUInt64BE(2)); at = 10; }
    const maskAt = at;
    if (masked) at += 4;
    if (buf.length < at + len) return buf;
    const payload = Buffer.from(buf.subarray(at, at + len));
    if (masked) for (let i = 0; i < len; ++i) payload[i] ^= buf[maskAt + (i % 4)];
    out.push({ opcode: buf[0] & 0x0f, payload });
    buf = buf.subarray(at + len);
  }
}

const close = (code, mask) => {
  if (!mask) return Buffer.from([0x88, 0x02, code >> 8, code & 0xff]);
  return Buffer.from([0x88, 0x82, ...mask, (code >> 8) ^ mask[0], (code & 0xff) ^ mask[1]]);
};
// Behind a close, in the same write: a reserved opcode, garbage, or a frame of the wrong masking.
const junk = {
  reserved: Buffer.from([0x83, 0x80, 1, 2, 3, 4]),
  garbage: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x13]),
  unmasked: Buffer.from([0x81, 0x02, 0x68, 0x69]),
  masked: Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]),
};

// /junk/KIND: close first, with junk behind it. Otherwise a path ending in /MS answers the
// client's close MS late.
function startRecordingBackend() {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let session;
    s.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!session) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end + 4).toString();
        buf = buf.subarray(end + 4);
        session = { path: head.split(' ')[1], frames: [] };
        sessions.push(session);
        s.write(upgradeResponse(head));
        const kind = /^\/junk\/(\w+)/.exec(session.path)?.[1];
        if (kind) s.write(Buffer.concat([close(1000), junk[kind]]));
      }
      const before = session.frames.length;
      buf = parseFrames(buf, session.frames);
      const gotClose = session.frames.slice(before).some((f) => f.opcode === 8);
      if (gotClose && !session.answered && !session.path.startsWith('/junk/')) {
        session.answered = true;
        const delay = Number(/\/(\d+)$/.exec(session.path)?.[1] ?? 0);
        setTimeout(() => { if (!s.destroyed) s.end(close(1000)); }, delay);
      }
      if (gotClose && session.path.startsWith('/junk/')) s.end();  // the close handshake is complete
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

const closesTo = (session) => session.frames.filter((f) => f.opcode === 8).map((f) => f.payload.readUInt16BE(0));
const framesOf = (buf) => { const out = []; parseFrames(buf, out); return out; };
async function sessionFor(path) {
  const deadline = Date.now() + 5000;
  let s;
  while (!(s = sessions.find((x) => x.path === path)) && Date.now() < deadline) await sleep(10);
  assert.ok(s, `the backend saw ${path} (it saw ${sessions.map((x) => x.path)}; ${gw.logs.slice(-3).join(" | ")})`);
  return s;
}
async function metricSettles(name, want) {
  const deadline = Date.now() + 5000;
  let got;
  while ((got = await gw.metric(name)) !== want && Date.now() < deadline) await sleep(50);
  assert.equal(got, want, name);
}

before(async () => {
  const dir = tempDir();
  const cert = makeCert(dir, 'gw', ['localhost']);
  backend = await startRecordingBackend();
  const url = `ws://127.0.0.1:${backend.address().port}`;
  gw = await startGateway(routeYaml(`
  - { name: plain, match: { path_prefix: /client-plain }, backends: [ "${url}" ] }
  - { name: tls, match: { path_prefix: /client-tls }, backends: [ "${url}" ] }
  - { name: h2, match: { path_prefix: /client-h2 }, backends: [ "${url}" ] }
  - { name: down, match: { path_prefix: /junk }, backends: [ "${url}" ] }
  - { name: idle, match: { path_prefix: /idle }, backends: [ "${url}" ],
      limits: { idle_timeout: 1s, ping_interval: 300ms, pong_timeout: 300ms } }
  - { name: slow, match: { path_prefix: /slow }, backends: [ "${url}" ] }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - { name: secure, bind: "127.0.0.1:0", tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] } }`,
  }), { dir });
});

after(async () => {
  await gw?.stop();
  backend?.close();
});

// The reported bug: a valid close and junk behind it in one send.
for (const kind of ['reserved', 'garbage', 'unmasked']) {
  test(`client close + ${kind} in one send: the backend gets one close, the client the backend's 1000`, async () => {
    const path = `/client-plain/${kind}`;
    const raw = await rawSession(gw.ports.public, path, '', { allowHalfOpen: true });
    const fin = new Promise((r) => raw.socket.once('end', r));
    const session = await sessionFor(path);
    raw.socket.write(Buffer.concat([close(1000, [1, 2, 3, 4]), junk[kind]]));
    await fin;
    raw.socket.destroy();
    // The backend's own close and junk came first: the client gets that 1000 and nothing else.
    const got = framesOf(raw.rest());
    assert.deepEqual(got.map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1000]]);
    await sleep(100);
    assert.deepEqual(closesTo(session), [1000], 'exactly one close reached the backend');
    assert.equal(session.frames.length, 1, 'nothing behind the close reached the backend');
  });
}

test('client close + junk over TLS, split or whole: one close each way, counted as client_close', async () => {
  for (const split of [false, true]) {
    const path = `/client-tls/${split ? 'split' : 'whole'}`;
    const socket = tls.connect({ host: '127.0.0.1', port: gw.ports.secure, servername: 'localhost',
                                 rejectUnauthorized: false, allowHalfOpen: true });
    socket.on('error', () => {});
    await new Promise((r) => socket.once('secureConnect', r));
    let data = Buffer.alloc(0);
    socket.on('data', (c) => { data = Buffer.concat([data, c]); });
    const ended = new Promise((r) => socket.once('end', r));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const session = await sessionFor(path);
    while (!data.includes('\r\n\r\n')) await sleep(10);
    const bytes = Buffer.concat([close(1000, [9, 9, 9, 9]), junk.reserved]);
    if (split) {
      socket.write(bytes.subarray(0, 5));
      await sleep(50);
      socket.write(bytes.subarray(5));
    } else {
      socket.write(bytes);
    }
    await ended;
    socket.destroy();
    const rest = data.subarray(data.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(framesOf(rest).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1000]]);
    await sleep(100);
    assert.deepEqual(closesTo(session), [1000]);
  }
});

test('client close + junk in one DATA frame of an HTTP/2 stream: one close each way', async () => {
  const path = '/client-h2/junk';
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [h2Client, String(gw.ports.secure), 'closejunk', path],
                                               { timeout: 20000 });
  const [stream] = JSON.parse(stdout).streams;
  assert.equal(stream.status, 200);
  assert.deepEqual(stream.closes, [1000], "the backend's 1000 and no gateway close behind it");
  const session = await sessionFor(path);
  assert.deepEqual(closesTo(session), [1000], 'exactly one close reached the backend');
  assert.equal(session.frames.length, 1);
  await metricSettles('wsgate_session_ends_total{route="h2",cause="client_close"}', 1);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="h2",side="gateway"'), 0);
  assert.equal(await gw.metric('wsgate_discarded_bytes_total{route="h2",direction="client_to_backend"}'), 10);
});

test('a backend close + junk in one write: the client gets one close, the backend only its answer', async () => {
  for (const kind of ['masked', 'reserved']) {
    const path = `/junk/${kind}`;
    const raw = await rawSession(gw.ports.public, path, '', { allowHalfOpen: true });
    const session = await sessionFor(path);
    while (framesOf(raw.rest()).length === 0) await sleep(10);
    await sleep(100);  // anything the gateway would add behind it
    assert.deepEqual(framesOf(raw.rest()).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1000]],
                     'the backend close, no gateway 1002 or 1014 behind it');
    const fin = new Promise((r) => raw.socket.once('end', r));
    raw.socket.write(close(1000, [5, 6, 7, 8]));  // the client answers
    await fin;
    raw.socket.destroy();
    await sleep(100);
    assert.deepEqual(closesTo(session), [1000], 'the backend got the client answer and no gateway close');
  }
});

test('the counters: client_close and backend_close, the junk counted as discarded', async () => {
  // Three plain sessions and two over TLS closed first by the client; two by the backend.
  await metricSettles('wsgate_session_ends_total{route="plain",cause="client_close"}', 3);
  await metricSettles('wsgate_session_ends_total{route="tls",cause="client_close"}', 2);
  await metricSettles('wsgate_session_ends_total{route="down",cause="backend_close"}', 2);
  assert.equal(await gw.metric('wsgate_session_ends_total{route="plain",cause="client_protocol_error"}'), 0);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="plain",side="client",code="1000"}'), 3);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="plain",side="backend",code="1000"}'), 3);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="plain",side="gateway"'), 0);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="tls",side="gateway"'), 0);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="down",side="gateway"'), 0);
  const plainJunk = junk.reserved.length + junk.garbage.length + junk.unmasked.length;
  assert.equal(await gw.metric('wsgate_discarded_bytes_total{route="plain",direction="client_to_backend"}'), plainJunk);
  assert.equal(await gw.metric('wsgate_discarded_bytes_total{route="down",direction="backend_to_client"}'),
               junk.masked.length + junk.reserved.length);
  assert.ok(!gw.logs.some((l) => /client_protocol_error|backend_protocol_error/.test(l)), 'no protocol error logged');
});

// The idle timeout (1 s) and the pong timeout (300 ms) fall inside the closing handshake: the
// backend's late answer still reaches the client, and no gateway close goes anywhere.
test('idle and pong timeouts do not close a session whose closing handshake is under way', async () => {
  const path = '/idle/1500';
  const raw = await rawSession(gw.ports.public, path, '', { allowHalfOpen: true });
  const fin = new Promise((r) => raw.socket.once('end', r));
  const session = await sessionFor(path);
  raw.socket.write(close(4000, [1, 1, 1, 1]));
  await fin;
  raw.socket.destroy();
  const frames = framesOf(raw.rest()).filter((f) => f.opcode !== 9);  // pings before the close are fine
  assert.deepEqual(frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1000]]);
  assert.deepEqual(closesTo(session), [4000]);
  await metricSettles('wsgate_session_ends_total{route="idle",cause="client_close"}', 1);
  assert.equal(await gw.metric('wsgate_close_codes_total{route="idle",side="gateway"'), 0);
});

// Drain during a closing handshake: the backend already has the client's close, so it gets no
// 1001; the client, which has no close yet, gets the drain's 1001.
test('SIGTERM while the backend has yet to answer a close: no second close to the backend', async () => {
  const path = '/slow/4000';
  const raw = await rawSession(gw.ports.public, path, '', { allowHalfOpen: true });
  const session = await sessionFor(path);
  raw.socket.write(close(1000, [2, 2, 2, 2]));
  while (closesTo(session).length === 0) await sleep(10);
  gw.proc.kill('SIGTERM');
  while (framesOf(raw.rest()).length === 0) await sleep(10);
  assert.deepEqual(framesOf(raw.rest()).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1001]]);
  raw.socket.destroy();
  const { code } = await gw.exited;
  assert.equal(code, 0);
  assert.deepEqual(closesTo(session), [1000], 'the backend got the client close and no drain 1001');
});
