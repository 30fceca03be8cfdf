// The attack catalogue's part on what reaches a backend (issue 16): the request a backend receives
// is built by the gateway from the client's validated request, so no claim, header, trailer or
// token source can forge or leak into it. A backend records the raw bytes of every request it gets;
// each attack is answered as specified and the recorded bytes prove what passed, over plain TCP and
// TLS, while a good client keeps working beside it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
  tempDir, startGateway, open, connect, rawExchange, statusOf, routeYaml, makeCert, upgradeResponse,
} from './lib.mjs';

const secret = randomBytes(32).toString('base64');  // the file's bytes are the HMAC key
let dir, gw, recorder, cert;
const received = [];  // every request the backend got: { head, body }

// A backend that records each request whole (head and Content-Length body) and answers by path:
// an upgrade gets its 101 (with the extensions in two field lines under /fwd/ext), /open/interim a
// 103 then a 200, /open/continue a 100 then a 200, /open/switch a 101 to a plain request.
function startRecorder() {
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (upgraded) return;
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = Number(head.match(/\r\ncontent-length: *(\d+)/i)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length).toString('latin1');
        buffered = buffered.subarray(end + 4 + length);
        received.push({ head, body });
        const target = head.split(' ')[1];
        if (/\r\nupgrade: websocket/i.test(head)) {
          upgraded = true;
          const accept = upgradeResponse(head);
          socket.write(target.startsWith('/fwd/ext')
            ? accept.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-unused\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n')
            : accept);
          return;
        }
        const ok = `HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`;
        if (target.startsWith('/open/interim')) socket.write(`HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${ok}`);
        else if (target.startsWith('/open/continue')) socket.write(`HTTP/1.1 100 Continue\r\n\r\n${ok}`);
        else if (target.startsWith('/open/switch')) socket.write(upgradeResponse('sec-websocket-key: x'));
        else if (target.startsWith('/open/bigtrailer'))
          socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: ${'b'.repeat(66000)}\r\n\r\n`);
        else socket.write(ok);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const now = () => Math.floor(Date.now() / 1000);
function token(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const good = token({ sub: 'alice', exp: now() + 600 });

before(async () => {
  dir = tempDir();
  writeFileSync(path.join(dir, 'hs.secret'), secret);
  cert = makeCert(dir, 'gw', ['localhost']);
  recorder = await startRecorder();
  const backend = `ws://127.0.0.1:${recorder.address().port}`;
  gw = await startGateway(routeYaml(`
  - { name: fwd, match: { path_prefix: /fwd }, auth: dev, allowed_origins: [ "https://app.example" ], backends: [ "${backend}" ] }
  - { name: open, match: { path_prefix: /open }, backends: [ "${backend}" ] }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - name: secure
    bind: "127.0.0.1:0"
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `http: { max_header_bytes: 64KiB }
auth:
  providers:
    - name: dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${path.join(dir, 'hs.secret')} } ]
      token_from: [ "header:Authorization", "query:access_token", "cookie:access_token", "protocol" ]
      forward_claims: { sub: X-User-Id }` }), { dir });
});

after(async () => {
  await gw?.stop();
  recorder?.close();
});

// Sends `payload` raw (over TLS to the secure listener when `secure`) and returns what came back;
// `since` is how many requests the backend had recorded before.
async function exchange(payload, { secure = false, until } = {}) {
  const since = received.length;
  let response;
  if (secure) {
    response = await new Promise((resolve, reject) => {
      const s = tls.connect({ port: gw.ports.secure, host: '127.0.0.1', servername: 'localhost', ca: [readFileSync(cert.cert)] });
      let data = '';
      s.on('secureConnect', () => s.write(payload));
      s.on('data', (c) => { data += c.toString('latin1'); if (until?.test(data)) s.destroy(); });
      s.on('error', reject);
      s.on('close', () => resolve(data));
    });
  } else {
    response = await rawExchange(gw.ports.public, payload, { until });
  }
  return { response, status: statusOf(response), forwarded: received.slice(since) };
}

function upgradeHead(target, extra = '') {
  return `GET ${target} HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
         `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

const fieldLines = (head, name) => head.split('\r\n').filter((l) => l.split(':')[0].toLowerCase().replace(/_/g, '-') === name);

// A good client beside each attack: an authenticated session keeps round-tripping.
async function goodClientWorks() {
  const ws = await open(gw.url('public', '/fwd/good'), { headers: { authorization: `Bearer ${good}` } });
  ws.close();
  const seen = received.at(-1).head;
  assert.deepEqual(fieldLines(seen, 'x-user-id'), ['X-User-Id: alice']);
}

for (const secure of [false, true]) {
  const over = secure ? ' (TLS)' : '';

  test(`a claim with CR LF is refused with 401, never written as header lines${over}`, async () => {
    for (const sub of ['alice\r\nX-User-Id: admin\r\nX-Admin: 1', 'alice\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1', 'a\u0000b']) {
      const t = token({ sub, exp: now() + 600 });
      const got = await exchange(`GET /fwd/plain HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${t}\r\n\r\n`, { secure });
      assert.equal(got.status, 401, JSON.stringify(sub));
      assert.match(got.response, /error="invalid_token", error_description="a claim to forward is not a valid header value"/);
      assert.equal(got.forwarded.length, 0, 'nothing reached the backend');
    }
    await gw.waitLog(/request_rejected status=401 route=fwd .*reason="a claim to forward is not a valid header value"/);
    await goodClientWorks();
  });

  test(`Connection cannot remove the gateway's identity or Host, and X_User_Id spellings never pass${over}`, async () => {
    const got = await exchange(upgradeHead('/fwd/conn', `Authorization: Bearer ${good}\r\nConnection: keep-alive, X-User-Id, Host\r\n` +
                                           'X_User_Id: admin\r\nx-user_id: admin\r\nX-User-Id: admin\r\n'), { secure, until: /\r\n\r\n/ });
    assert.equal(got.status, 101);
    const [{ head }] = got.forwarded;
    assert.deepEqual(fieldLines(head, 'x-user-id'), ['X-User-Id: alice']);
    assert.deepEqual(fieldLines(head, 'host'), ['Host: gw.test']);
    assert.ok(!head.includes('admin'), head);
    await goodClientWorks();
  });

  test(`chunked trailers are dropped, never merged into the head${over}`, async () => {
    const got = await exchange('POST /open/trailers HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' +
                               '5\r\nhello\r\n0\r\nOrigin: http://evil.example\r\nX-Smuggled: 1\r\n\r\n', { secure, until: /\/open\/trailers$/ });
    assert.equal(got.status, 200);
    const [{ head, body }] = got.forwarded;
    assert.equal(body, 'hello');
    assert.match(head, /\r\nContent-Length: 5(\r\n|$)/);
    assert.ok(!/origin|x-smuggled|transfer-encoding/i.test(head), head);
    // On an upgrade a body (chunked or not) is refused before anything is forwarded.
    const upgrade = await exchange(upgradeHead('/open/ws', 'Transfer-Encoding: chunked\r\n') + '0\r\nX-Smuggled: 1\r\n\r\n', { secure });
    assert.equal(upgrade.status, 400);
    assert.equal(upgrade.forwarded.length, 0);
  });

  test(`every token source is stripped, whichever one carried the token${over}`, async () => {
    const got = await exchange(upgradeHead('/fwd/tokens?room=1&access_token=QUERYTOKEN',
      `Authorization: Bearer ${good}\r\nCookie: theme=dark; access_token=COOKIETOKEN\r\n` +
      'Sec-WebSocket-Protocol: chat.v1, bearer, PROTOCOLTOKEN\r\n'), { secure, until: /\r\n\r\n/ });
    assert.equal(got.status, 101);
    const [{ head }] = got.forwarded;
    assert.match(head, /^GET \/fwd\/tokens\?room=1 HTTP\/1\.1\r\n/);
    for (const leaked of [good, 'QUERYTOKEN', 'COOKIETOKEN', 'PROTOCOLTOKEN', 'Authorization', 'bearer'])
      assert.ok(!head.includes(leaked), `${leaked} reached the backend:\n${head}`);
    assert.deepEqual(fieldLines(head, 'cookie'), ['Cookie: theme=dark']);
    assert.deepEqual(fieldLines(head, 'sec-websocket-protocol'), ['Sec-WebSocket-Protocol: chat.v1']);
  });

  test(`Expect: 100-continue is answered by the gateway, interim answers are not taken as final${over}`, async () => {
    // The client waits for 100 before it sends its body (curl's behaviour), then a pipelined request.
    const got = await new Promise((resolve, reject) => {
      const s = secure ? tls.connect({ port: gw.ports.secure, host: '127.0.0.1', servername: 'localhost', ca: [readFileSync(cert.cert)] })
                       : net.connect(gw.ports.public, '127.0.0.1');
      let data = '';
      let bodySent = false;
      s.on(secure ? 'secureConnect' : 'connect', () =>
        s.write('POST /open/continue HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
      s.on('data', (c) => {
        data += c.toString('latin1');
        if (!bodySent && data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
          bodySent = true;
          s.write('body' + 'GET /open/interim HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n');
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(data));
    });
    const statuses = got.match(/HTTP\/1\.1 \d{3}/g);
    assert.deepEqual(statuses, ['HTTP/1.1 100', 'HTTP/1.1 200', 'HTTP/1.1 200'], got);
    assert.ok(got.indexOf('/open/continue') < got.indexOf('/open/interim'), 'each final answer to its own request');
    const plain = await exchange('GET /open/switch HTTP/1.1\r\nHost: gw.test\r\n\r\n', { secure });
    assert.equal(plain.status, 502, '101 to a request that asked for no upgrade');
    const expectation = await exchange('GET /open/x HTTP/1.1\r\nHost: gw.test\r\nExpect: magic\r\n\r\n', { secure });
    assert.equal(expectation.status, 417);
  });

  // One TRACE with a body aborted the whole gateway (an exception from Beast's prepare_payload).
  test(`a TRACE with content is 400 and reaches no backend; one without is forwarded${over}`, async () => {
    const traced = await exchange('TRACE /open/t HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 3\r\n\r\nabc', { secure });
    assert.equal(traced.status, 400, traced.response);
    assert.equal(traced.forwarded.length, 0);
    const plain = await exchange('TRACE /open/t HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n', { secure });
    assert.equal(plain.status, 200, plain.response);
    assert.match(plain.forwarded[0].head, /^TRACE \/open\/t HTTP\/1\.1\r\n/);
    await goodClientWorks();
  });

  // Beast throws on a field over 64 KiB: with max_header_bytes above that, one such header ended the
  // process. The limit now stops at 64 KiB, and the longest field that fits it is forwarded whole.
  test(`a field as long as a 64 KiB head allows is forwarded whole; a longer head is 431${over}`, async () => {
    // Beast counts the limit from the end of the request line, and lines it has parsed already
    // from an earlier read loosely: "over" is well over.
    const fields = 'Host: gw.test\r\nConnection: close\r\nX-Big: ';
    const prefix = `GET /open/big HTTP/1.1\r\n${fields}`;
    const fits = 'a'.repeat(64 * 1024 - fields.length - 4);
    const big = await exchange(`${prefix}${fits}\r\n\r\n`, { secure });
    assert.equal(big.status, 200, big.response.slice(0, 200));
    assert.deepEqual(fieldLines(big.forwarded[0].head, 'x-big'), [`X-Big: ${fits}`]);
    const over = await exchange(`${prefix}${fits}${'a'.repeat(1000)}\r\n\r\n`, { secure });
    assert.equal(over.status, 431);
    assert.equal(over.forwarded.length, 0);
    await goodClientWorks();
  });

  // A chunked body's trailer fields are not bounded by Beast's header limit: one over 64 KiB made
  // its parser throw, from a client or from a backend, and the gateway aborted.
  test(`a trailer field over 64 KiB is 431 from a client and 502 from a backend${over}`, async () => {
    const client = await exchange('POST /open/t HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' +
                                  `1\r\na\r\n0\r\nX-T: ${'b'.repeat(66000)}\r\n\r\n`, { secure });
    assert.equal(client.status, 431, client.response.slice(0, 200));
    assert.equal(client.forwarded.length, 0);
    const backend = await exchange('GET /open/bigtrailer HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n', { secure });
    assert.equal(backend.status, 502, backend.response.slice(0, 200));
    await goodClientWorks();
  });

  test(`Host must be uri-host[:port]${over}`, async () => {
    for (const host of ['x/../y', 'a@x', 'x:y:z']) {
      const got = await exchange(`GET /open/h HTTP/1.1\r\nHost: ${host}\r\n\r\n`, { secure });
      assert.equal(got.status, 400, host);
      assert.equal(got.forwarded.length, 0, host);
    }
    const absolute = await exchange('GET http://a@x/open/h HTTP/1.1\r\nHost: x\r\n\r\n', { secure });
    assert.equal(absolute.status, 400, 'an absolute-form authority with userinfo');
  });
}

test('a token without exp is 401 invalid_token', async () => {
  const ws = connect(gw.url('public', '/fwd/noexp'), { headers: { authorization: `Bearer ${token({ sub: 'alice' })}` } });
  const err = await ws.opened.then(() => null, (e) => e);
  assert.equal(err?.status, 401);
  assert.equal(err.headers['www-authenticate'], 'Bearer realm="wsgate", error="invalid_token", error_description="token has no exp"');
});

test('extensions in two field lines of the 101 both count: a compressed frame passes', async () => {
  const socket = net.connect(gw.ports.public, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(upgradeHead('/fwd/ext', `Authorization: Bearer ${good}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n`));
  let data = Buffer.alloc(0);
  socket.on('data', (c) => { data = Buffer.concat([data, c]); });
  for (const deadline = Date.now() + 5000; !data.includes('\r\n\r\n') && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
  assert.match(data.toString(), /^HTTP\/1\.1 101 /);
  // A masked text frame with RSV1 set (a compressed message): 1002 unless deflate was negotiated.
  const payload = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);  // "Hello", deflated
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  const relayed = () => gw.metric('wsgate_messages_total{route="fwd",direction="client_to_backend"}');
  const before = await relayed();
  socket.write(Buffer.concat([Buffer.from([0xc1, 0x80 | payload.length]), mask, masked]));
  let after = before;
  for (const deadline = Date.now() + 5000; after === before && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 20));
    after = await relayed();
  }
  assert.equal(after, before + 1, 'the compressed message was relayed');
  assert.equal(data.subarray(data.indexOf('\r\n\r\n') + 4).length, 0, 'no close frame came back');
  await gw.waitLog(/session_open route=fwd .*deflate=yes/);
  socket.destroy();
});
