// The attack catalogue, through the real binary: every hostile request, frame and token gets its
// exact answer (status or close code) while a well-behaved client keeps round-tripping through the
// same gateway, and the gateway's memory grows by no more than each attack's budget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
  tempDir, startBackend, startGateway, open, connect, rawExchange, rawSession, statusOf, routeYaml,
  sleep, rssKiB, makeCert, upgradeResponse,
} from './lib.mjs';

let dir, backend, gw, secret, ecKey, ponger;

// Sanitizers keep freed memory in quarantine and add shadow memory: budgets are looser there.
const budget = (kib) => kib * (process.env.WSGATE_SANITIZER ? 4 : 1);

before(async () => {
  dir = tempDir();
  secret = randomBytes(32).toString('base64');  // the file's bytes are the HMAC key
  writeFileSync(path.join(dir, 'hs.secret'), secret);
  ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(path.join(dir, 'ec.pem'), ecKey.publicKey.export({ type: 'spki', format: 'pem' }));
  const cert = makeCert(dir, 'gw', ['localhost']);
  backend = await startBackend('w1');
  ponger = await startPonger();
  gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: loose, match: { path_prefix: /loose, prefix_match: string }, backends: [ "${backend.url}" ] }
  - { name: flood, match: { path_prefix: /flood }, backends: [ "ws://127.0.0.1:${ponger.address().port}" ] }
  - { name: app, match: { host: app.test, path_prefix: /app }, backends: [ "${backend.url}" ] }
  - { name: secure, match: { path_prefix: /secure }, auth: jwt, backends: [ "${backend.url}" ] }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - name: secure
    bind: "127.0.0.1:0"
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `http: { header_timeout: 1s, max_header_bytes: 4KiB, max_headers: 20 }
auth:
  providers:
    - name: jwt
      issuer: wsgate-test
      audiences: [ wsgate ]
      algorithms: [ HS256, ES256 ]
      keys: [ { secret_file: ${path.join(dir, 'hs.secret')}, kid: hs }, { pem_file: ${path.join(dir, 'ec.pem')}, kid: ec } ]
      leeway: 0s` }), { dir });
  // Warm up: the first sessions allocate what every later one reuses.
  for (let i = 0; i < 5; i++) {
    const ws = await open(gw.url('public', '/echo'));
    ws.send('warm');
    await ws.next();
    ws.close();
  }
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  ponger?.close();
});

// A WebSocket backend that answers every ping with its pong and does nothing else. (Node's `ws`
// drops a connection that sends it pings faster than it writes the pongs, which is its own policy,
// not the gateway's.)
async function startPonger() {
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.write(upgradeResponse(buffered.subarray(0, end)));
        upgraded = true;
        buffered = buffered.subarray(end + 4);
      }
      const out = [];
      // Masked frames with payloads under 126 bytes: all a ping flood sends.
      while (buffered.length >= 6 && buffered.length >= 6 + (buffered[1] & 0x7f)) {
        const n = buffered[1] & 0x7f;
        const payload = buffered.subarray(6, 6 + n).map((b, i) => b ^ buffered[2 + (i % 4)]);
        if ((buffered[0] & 0x0f) === 0x9) out.push(Buffer.from([0x8a, n]), payload);
        buffered = buffered.subarray(6 + n);
      }
      if (out.length) socket.write(Buffer.concat(out));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

// Runs `attack` while a well-behaved client round-trips a message every 20 ms, then checks that
// each of its messages came back, that a new session still opens and echoes, and that the
// gateway's RSS (sampled every 50 ms) never rose more than `budgetKiB` above where it started.
async function alongside(attack, budgetKiB = 4 * 1024) {
  const pid = gw.proc.pid;
  const start = rssKiB(pid);
  let peak = start;
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssKiB(pid)); } catch {} }, 50);
  const good = await open(gw.url('public', '/echo/good'));
  let trips = 0;
  let stop = false;
  const loop = (async () => {
    do {
      const text = `trip ${trips}`;
      good.send(text);
      assert.equal((await good.next(5000)).data.toString(), text, 'the good client got its echo');
      trips++;
      await sleep(20);
    } while (!stop);
  })();
  try {
    await attack();
  } finally {
    stop = true;
    clearInterval(sampler);
  }
  await loop;
  good.close(1000);
  assert.equal((await good.closed).code, 1000);
  const fresh = await open(gw.url('public', '/echo/after'));
  fresh.send('still here');
  assert.equal((await fresh.next()).data.toString(), 'still here');
  fresh.close();
  peak = Math.max(peak, rssKiB(pid));
  console.log(`gateway RSS ${start} KiB before, peak +${peak - start} KiB, good client ${trips} round trips`);
  assert.ok(peak - start <= budget(budgetKiB),
            `gateway RSS rose ${peak - start} KiB (budget ${budget(budgetKiB)} KiB) during the attack`);
  return trips;
}

// ---- The request, before any upgrade --------------------------------------------------------

const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const upgrade = (extra = '', { target = '/echo', host = 'x', version = '13', key = KEY } = {}) =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}` +
  `Sec-WebSocket-Version: ${version}\r\n${extra}\r\n`;

async function answer(payload, ms = 5000) {
  const response = await rawExchange(gw.ports.public, payload, { ms });
  return { status: statusOf(response), responses: response.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0, response };
}

const smuggled = 'GET /echo/admin HTTP/1.1\r\nHost: x\r\n\r\n';
const requestCases = [
  ['Content-Length with Transfer-Encoding', 400,
   `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
  ['two different Content-Lengths', 400,
   `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n${smuggled}`],
  ['Transfer-Encoding other than chunked', 501,
   `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${smuggled}`],
  ['Transfer-Encoding twice', 400,
   `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['bare LF line endings', 400, 'GET /echo HTTP/1.1\nHost: x\n\n'],
  ['a bare LF inside the head', 400, 'GET /echo HTTP/1.1\r\nHost: x\nX-Smuggle: 1\r\n\r\n'],
  ['no Host', 400, 'GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n'],
  ['two Hosts', 400, 'GET /echo HTTP/1.1\r\nHost: x\r\nHost: app.test\r\n\r\n'],
  ['a header over max_header_bytes', 431, `GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`],
  ['more headers than max_headers', 431,
   `GET /echo HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 30 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`],
  ['a request line that is not HTTP', 400, 'HELLO\r\n\r\n'],
  ['an upgrade with Sec-WebSocket-Version 8', 400, upgrade('', { version: '8' })],
  ['an upgrade with a short key', 400, upgrade('', { key: 'Sec-WebSocket-Key: c2hvcnQ=\r\n' })],
  ['an upgrade without a key', 400, upgrade('', { key: '' })],
  ['an upgrade with a body', 400, upgrade('Content-Length: 5\r\n').replace(/\r\n$/, '\r\nhello')],
  ['a Host no route names', 404, upgrade('', { target: '/app', host: 'other.test' })],
  ['a path no route names', 404, upgrade('', { target: '/admin', host: 'app.test' })],
  ['dot segments out of a route', 404, upgrade('', { target: '/echo/../admin' })],
  ['encoded dot segments out of a route', 404, upgrade('', { target: '/echo/%2e%2e/admin' })],
  // /echo matches whole segments: "/echo%2F" and "/echo\\" are other paths, which no route names.
  ['encoded slashes out of a segment route', 404, upgrade('', { target: '/echo%2F..%2Fadmin' })],
  ['backslashes out of a segment route', 404, upgrade('', { target: '/echo\\..\\admin' })],
  // A string prefix takes them, but decoded they would mean another path: refused.
  ['encoded slashes out of a string-prefix route', 400, upgrade('', { target: '/loose%2F..%2Fadmin' })],
  ['backslashes out of a string-prefix route', 400, upgrade('', { target: '/loose\\..\\admin' })],
  ['an absolute-form target naming another host', 404, upgrade('', { target: 'http://other.test/app', host: 'app.test' })],
  ['a fragment in the target', 400, upgrade('', { target: '/echo#x' })],
  ['an encoded NUL', 400, upgrade('', { target: '/echo/%00' })],
];

test('hostile requests get their exact status, and nothing smuggled behind them is answered', async () => {
  await alongside(async () => {
    for (const [what, status, payload] of requestCases) {
      const got = await answer(payload);
      assert.equal(got.status, status, `${what}: ${got.response.split('\r\n')[0]}`);
      assert.equal(got.responses, 1, `${what}: exactly one response, then the connection ends`);
    }
  });
  for (const [, status] of requestCases)
    assert.ok(gw.logs.some((l) => new RegExp(`request_rejected status=${status} `).test(l)));
});

test('obs-fold is unfolded into one value before the backend sees it', async () => {
  const got = await answer('GET /echo/h HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\nConnection: close\r\n\r\n');
  assert.equal(got.status, 200);
  const seen = JSON.parse(got.response.slice(got.response.indexOf('\r\n\r\n') + 4));
  assert.equal(seen.headers['x-folded'], 'a b');
});

test('slowloris: a head trickled a line at a time still ends at header_timeout with 408', async () => {
  await alongside(async () => {
    const started = Date.now();
    const response = await rawExchange(gw.ports.public, 'GET /echo HTTP/1.1\r\n', {
      ms: 8000,
      keepWriting: (socket) => {
        let n = 0;
        const timer = setInterval(() => { if (!socket.destroyed) socket.write(`X-Slow-${n++}: 1\r\n`); }, 150);
        socket.on('close', () => clearInterval(timer));
      },
    });
    const took = Date.now() - started;
    assert.equal(statusOf(response), 408);
    assert.ok(took >= 900 && took < 3000, `408 after ${took} ms (header_timeout 1s, bytes arriving all along)`);
  });
});

test('a TLS handshake that stalls after a partial ClientHello is dropped at header_timeout', async () => {
  await alongside(async () => {
    const started = Date.now();
    const socket = net.connect(gw.ports.secure, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await new Promise((r) => socket.on('close', r));
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 3000, `closed after ${took} ms`);
    await gw.waitLog(/tls_handshake_timeout/);
    // A real handshake on the same listener still completes.
    const ok = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: gw.ports.secure, servername: 'localhost',
                              rejectUnauthorized: false }, () => { s.end(); resolve(true); });
      s.on('error', reject);
    });
    assert.ok(ok);
  });
});

test('10,000 half-open requests are each answered 408 and cost a bounded amount of memory', async () => {
  const count = 10000;
  let answered408 = 0;
  let closed = 0;
  const sockets = [];
  const trips = await alongside(async () => {
    for (let i = 0; i < count; i++) {
      const socket = net.connect(gw.ports.public, '127.0.0.1');
      socket.setNoDelay(true);
      let data = '';
      socket.on('connect', () => socket.write('GET /echo HTTP/1.1\r\nHost: x\r\n'));
      socket.on('data', (c) => { data += c.toString('latin1'); });
      socket.on('error', () => {});
      socket.on('close', () => { closed++; if (statusOf(data) === 408) answered408++; });
      sockets.push(socket);
      if (i % 500 === 499) await sleep(10);  // let the accept queue drain
    }
    for (const deadline = Date.now() + 30000; closed < count && Date.now() < deadline;) await sleep(100);
  }, 96 * 1024);
  assert.equal(closed, count, 'the gateway closed every half-open connection');
  assert.equal(answered408, count, 'each with 408');
  assert.ok(trips > 10, `the good client went on (${trips} round trips)`);
});

// ---- Frames, after a real upgrade -----------------------------------------------------------

// A masked client frame; `rsv` is the three RSV bits as 0-7, `length` may lie about the payload.
function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, length } = {}) {
  const body = Buffer.from(payload);
  const mask = randomBytes(4);
  const n = length ?? body.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  if (n < 126) head.push(0x80 | n);
  else if (n < 65536) head.push(0x80 | 126, n >> 8, n & 0xff);
  else head.push(0x80 | 127, ...Buffer.from(BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, '0'), 'hex'));
  return Buffer.concat([Buffer.from(head), mask, body.map((b, i) => b ^ mask[i % 4])]);
}
const closePayload = (code, reason = Buffer.alloc(0)) => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);

// The server's frames in `bytes` (unmasked), as { opcode, payload }.
function serverFrames(bytes) {
  const frames = [];
  let pos = 0;
  while (pos + 2 <= bytes.length) {
    let n = bytes[pos + 1] & 0x7f;
    let at = pos + 2;
    if (n === 126) { n = bytes.readUInt16BE(at); at += 2; } else if (n === 127) { n = Number(bytes.readBigUInt64BE(at)); at += 8; }
    if (at + n > bytes.length) break;
    frames.push({ opcode: bytes[pos] & 0x0f, payload: bytes.subarray(at, at + n) });
    pos = at + n;
  }
  return frames;
}

async function closeAfter(bytes) {
  const s = await rawSession(gw.ports.public, '/echo/raw');
  assert.match(s.head, /^HTTP\/1\.1 101/);
  s.socket.write(bytes);
  await Promise.race([s.ended, sleep(5000).then(() => { throw new Error('the gateway did not end the session'); })]);
  const close = serverFrames(s.rest()).find((f) => f.opcode === 0x8);
  assert.ok(close, 'a close frame came back');
  return { code: close.payload.readUInt16BE(0), reason: close.payload.subarray(2).toString() };
}

const frameCases = [
  ['an unmasked client frame', Buffer.from([0x81, 0x02, 0x68, 0x69]), 1002, 'unmasked client frame'],
  ['RSV1 without permessage-deflate', frame(0x1, 'hi', { rsv: 4 }), 1002, 'reserved bits set'],
  ['RSV2', frame(0x1, 'hi', { rsv: 2 }), 1002, 'reserved bits set'],
  ['RSV3', frame(0x2, 'hi', { rsv: 1 }), 1002, 'reserved bits set'],
  ['reserved data opcode 0x3', frame(0x3), 1002, 'reserved opcode'],
  ['reserved control opcode 0xB', frame(0xb), 1002, 'reserved opcode'],
  ['a ping of 126 bytes', frame(0x9, Buffer.alloc(126)), 1002, 'control frame too long'],
  ['a fragmented ping', frame(0x9, 'p', { fin: false }), 1002, 'fragmented control frame'],
  ['a 64-bit length of 2^63', frame(0x2, Buffer.alloc(0), { length: 2n ** 63n }), 1002, 'frame length overflow'],
  ['a continuation without a start', frame(0x0, 'x'), 1002, 'continuation without a message'],
  ['a new message inside a fragmented one', Buffer.concat([frame(0x1, 'a', { fin: false }), frame(0x1, 'b')]),
   1002, 'new message inside a fragmented one'],
  ['a close reason that is not UTF-8', frame(0x8, closePayload(1000, Buffer.from([0xc0, 0xaf]))), 1007,
   'close reason not UTF-8'],
  ['close code 1005', frame(0x8, closePayload(1005)), 1002, 'close code not allowed'],
  ['close code 1006', frame(0x8, closePayload(1006)), 1002, 'close code not allowed'],
  ['close code 1015', frame(0x8, closePayload(1015)), 1002, 'close code not allowed'],
  ['close code 0', frame(0x8, closePayload(0)), 1002, 'close code not allowed'],
  ['close code 999', frame(0x8, closePayload(999)), 1002, 'close code not allowed'],
  ['a one-byte close payload', frame(0x8, Buffer.from([3])), 1002, 'close code not allowed'],
];

test('hostile frames end their session with the exact close code and reason', async () => {
  await alongside(async () => {
    for (const [what, bytes, code, reason] of frameCases)
      assert.deepEqual(await closeAfter(bytes), { code, reason }, what);
  });
});

test('a frame split around its length field is judged whole: 2^63 across three writes', async () => {
  const s = await rawSession(gw.ports.public, '/echo/raw');
  const bytes = frame(0x2, Buffer.alloc(0), { length: 2n ** 63n });
  for (const part of [bytes.subarray(0, 1), bytes.subarray(1, 5), bytes.subarray(5)]) {
    s.socket.write(part);
    await sleep(50);
  }
  await s.ended;
  assert.equal(serverFrames(s.rest()).find((f) => f.opcode === 0x8).payload.readUInt16BE(0), 1002);
});

test('a ping flood from a client that does not read costs bounded memory and loses no pong', async () => {
  const pings = 20000;
  let pongs = 0;
  await alongside(async () => {
    const s = await rawSession(gw.ports.public, '/flood');
    s.socket.pause();  // read nothing while flooding: the pongs back up towards the gateway
    const flood = Buffer.concat(Array.from({ length: pings }, (_, i) => frame(0x9, `${i}`.padStart(8, '0'))));
    s.socket.write(flood);
    await sleep(1500);
    let buffered = Buffer.alloc(0);
    s.socket.removeAllListeners('data');
    s.socket.on('data', (c) => { buffered = Buffer.concat([buffered, c]); });
    s.socket.resume();
    for (const deadline = Date.now() + 20000; Date.now() < deadline;) {
      pongs = serverFrames(buffered).filter((f) => f.opcode === 0xa).length;
      if (pongs >= pings) break;
      await sleep(100);
    }
    const frames = serverFrames(buffered).filter((f) => f.opcode === 0xa);
    assert.equal(frames[0].payload.toString(), '00000000');
    assert.equal(frames.at(-1).payload.toString(), `${pings - 1}`.padStart(8, '0'), 'in order, the last one too');
    s.socket.destroy();
  }, 8 * 1024);
  assert.equal(pongs, pings);
});

test('a client that never reads: backpressure holds the backend, the gateway holds little', async () => {
  await alongside(async () => {
    const ws = await open(gw.url('public', '/echo/stalled'));
    ws._socket.pause();
    ws.send('burst 400 100000');  // 40 MB from the backend, which the client will not read for now
    await sleep(2000);
    ws._socket.resume();
    for (let i = 0; i < 400; i++) {
      const text = (await ws.next(10000)).data.toString();
      assert.ok(text.startsWith(`${i}:`) && text.length === 100000, `message ${i} whole and in order`);
    }
    ws.close();
  }, 8 * 1024);
});

// ---- Tokens ---------------------------------------------------------------------------------

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
function jwt(header, claims, signer) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${signer ? signer(input).toString('base64url') : ''}`;
}
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra = {}) => ({ sub: 'mallory', iss: 'wsgate-test', aud: 'wsgate', exp: now() + 300, ...extra });
const hs = (key) => (input) => createHmac('sha256', key).update(input).digest();
const es = (input) => sign('sha256', Buffer.from(input), { key: ecKey.privateKey, dsaEncoding: 'ieee-p1363' });

test('JWT attacks get 401 with the reason; the genuine tokens pass', async () => {
  const pem = ecKey.publicKey.export({ type: 'spki', format: 'pem' });
  const cases = [
    ['alg none', jwt({ alg: 'none', typ: 'JWT' }, claims()), 'algorithm not allowed'],
    ['alg none, kid of the HMAC key', jwt({ alg: 'none', kid: 'hs' }, claims()), 'algorithm not allowed'],
    ['HS256 signed with the ES256 public key (key confusion)', jwt({ alg: 'HS256', kid: 'ec' }, claims(), hs(pem)),
     'key does not fit the algorithm'],
    ['ES256 naming the HMAC key', jwt({ alg: 'ES256', kid: 'hs' }, claims(), es), 'key does not fit the algorithm'],
    ['kid path injection', jwt({ alg: 'HS256', kid: '../../../../dev/null' }, claims(), hs(Buffer.alloc(0))), 'unknown key'],
    ['kid SQL injection', jwt({ alg: 'HS256', kid: "hs' OR '1'='1" }, claims(), hs(secret)), 'unknown key'],
    ['expired', jwt({ alg: 'HS256', kid: 'hs' }, claims({ exp: now() - 10 }), hs(secret)), 'token expired'],
    ['a foreign issuer', jwt({ alg: 'HS256', kid: 'hs' }, claims({ iss: 'evil' }), hs(secret)), 'wrong issuer'],
    ['another audience', jwt({ alg: 'HS256', kid: 'hs' }, claims({ aud: 'other' }), hs(secret)), 'wrong audience'],
    ['a forged signature', jwt({ alg: 'HS256', kid: 'hs' }, claims(), hs(randomBytes(32))), 'bad signature'],
  ];
  await alongside(async () => {
    for (const [what, token, reason] of cases) {
      const ws = connect(gw.url('public', '/secure'), { headers: { authorization: `Bearer ${token}` } });
      const err = await ws.opened.then(() => { ws.close(); return null; }, (e) => e);
      assert.ok(err, `${what}: the upgrade must be refused`);
      assert.equal(err.status, 401, what);
      assert.equal(err.headers['www-authenticate'],
                   `Bearer realm="wsgate", error="invalid_token", error_description="${reason}"`, what);
    }
    for (const token of [jwt({ alg: 'HS256', kid: 'hs' }, claims(), hs(secret)), jwt({ alg: 'ES256', kid: 'ec' }, claims(), es)]) {
      const ws = await open(gw.url('public', '/secure'), { headers: { authorization: `Bearer ${token}` } });
      ws.close();
    }
  });
});
