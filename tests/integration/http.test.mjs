// The HTTP phase through the real binary: every rejection with its status, the forwarded upgrade,
// backend failures, and plain HTTP proxying with keep-alive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startBackend, startGateway, open, connect, rawExchange, statusOf, routeYaml, sleep } from './lib.mjs';

let backend, gw, refusing, silent, deadPort;

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

before(async () => {
  backend = await startBackend('w1');
  // A backend that refuses every upgrade with its own status, headers and body.
  refusing = http.createServer((req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="backend"', 'content-type': 'text/plain' });
    res.end('backend says no\n');
  });
  const refusingPort = await listen(refusing);
  // A backend that accepts TCP and never answers.
  silent = net.createServer(() => {});
  const silentPort = await listen(silent);
  // A port with nothing listening: bind, note, close.
  const probe = net.createServer();
  deadPort = await listen(probe);
  await new Promise((r) => probe.close(r));

  gw = await startGateway(routeYaml(`
  - name: echo
    match: { host: echo.test, path_prefix: / }
    backends: [ "${backend.url}" ]
  - name: fallback
    match: { host: fallback.test, path_prefix: / }
    backends: [ "ws://127.0.0.1:${deadPort}", "${backend.url}" ]
  - name: down
    match: { host: down.test, path_prefix: / }
    backends: [ "ws://127.0.0.1:${deadPort}" ]
  - name: refusing
    match: { host: refusing.test, path_prefix: / }
    backends: [ "ws://127.0.0.1:${refusingPort}" ]
  - name: silent
    match: { host: silent.test, path_prefix: / }
    backends: [ "ws://127.0.0.1:${silentPort}" ]
    response_timeout: 500ms
  - name: guarded
    match: { host: echo.test, path_prefix: /guarded }
    backends: [ "${backend.url}" ]
    allowed_origins: [ "https://app.example.com" ]
`, { extra: 'http: { header_timeout: 700ms, max_header_bytes: 4KiB, max_headers: 20 }' }));
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  refusing?.close();
  silent?.close();
});

const upgradeHead = (host, extra = '', pathname = '/') =>
  `GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}`;
const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const V13 = 'Sec-WebSocket-Version: 13\r\n';

test('upgrade without Sec-WebSocket-Key gets 400', async () => {
  const res = await rawExchange(gw.ports.public, upgradeHead('echo.test', V13) + '\r\n');
  assert.equal(statusOf(res), 400);
  assert.match(res, /Connection: close/i);
});

test('upgrade with the wrong version gets 400 naming version 13', async () => {
  const res = await rawExchange(gw.ports.public,
    upgradeHead('echo.test', KEY + 'Sec-WebSocket-Version: 8\r\n') + '\r\n');
  assert.equal(statusOf(res), 400);
  assert.match(res, /Sec-WebSocket-Version: 13/i);
});

test('malformed request line gets 400', async () => {
  const res = await rawExchange(gw.ports.public, 'HELLO\r\n\r\n');
  assert.equal(statusOf(res), 400);
});

test('no route gets 404', async () => {
  const res = await rawExchange(gw.ports.public, upgradeHead('nowhere.test', KEY + V13) + '\r\n');
  assert.equal(statusOf(res), 404);
  await gw.waitLog(/request_rejected status=404/);
});

test('origin not on the allowlist gets 403, the allowed one passes', async () => {
  const denied = await rawExchange(gw.ports.public,
    upgradeHead('echo.test', KEY + V13 + 'Origin: https://evil.example\r\n', '/guarded') + '\r\n');
  assert.equal(statusOf(denied), 403);
  const ok = await open(gw.url('public', '/guarded'),
                       { headers: { host: 'echo.test' }, origin: 'https://app.example.com' });
  ok.close();
});

test('slow headers get 408', async () => {
  const t0 = Date.now();
  const res = await rawExchange(gw.ports.public, 'GET / HTTP/1.1\r\nHost: echo.test\r\n');
  assert.equal(statusOf(res), 408);
  assert.ok(Date.now() - t0 >= 600, 'not before header_timeout');
});

test('oversized and too many headers get 431', async () => {
  const big = await rawExchange(gw.ports.public,
    upgradeHead('echo.test', KEY + V13 + `X-Big: ${'a'.repeat(5000)}\r\n`) + '\r\n');
  assert.equal(statusOf(big), 431);
  let many = '';
  for (let i = 0; i < 30; i++) many += `X-H${i}: v\r\n`;
  const numerous = await rawExchange(gw.ports.public, upgradeHead('echo.test', KEY + V13 + many) + '\r\n');
  assert.equal(statusOf(numerous), 431);
});

test('the backend sees the forwarded upgrade with X-Forwarded-* and no hop-by-hop headers', async () => {
  const ws = await open(gw.url('public', '/room?x=1'),
    { headers: { host: 'echo.test', 'keep-alive': 'timeout=5', 'x-forwarded-for': '192.0.2.7' } });
  ws.send('headers');
  const seen = JSON.parse((await ws.next()).data.toString());
  assert.equal(seen.url, '/room?x=1');
  // 127.0.0.1 is no trusted proxy here: its X-Forwarded-For is not believed, but replaced.
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'echo.test');
  assert.equal(seen.headers.host, 'echo.test');
  assert.equal(seen.headers['keep-alive'], undefined);
  assert.equal(seen.headers.upgrade, 'websocket');
  ws.close();
});

test('a refused connection tries the next backend', async () => {
  for (let i = 0; i < 4; i++) {
    const ws = await open(gw.url('public', '/'), { headers: { host: 'fallback.test' } });
    ws.send('whoami');
    assert.equal((await ws.next()).data.toString(), 'w1');
    ws.close();
  }
});

test('no backend reachable gets 502', async () => {
  const ws = connect(gw.url('public', '/'), { headers: { host: 'down.test' } });
  await assert.rejects(ws.opened, (err) => err.status === 502);
});

test('a backend that never answers gets 504 after response_timeout', async () => {
  const ws = connect(gw.url('public', '/'), { headers: { host: 'silent.test' } });
  await assert.rejects(ws.opened, (err) => err.status === 504);
});

test("a backend's non-101 answer goes back as it is", async () => {
  const ws = connect(gw.url('public', '/'), { headers: { host: 'refusing.test' } });
  await assert.rejects(ws.opened, (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.headers['www-authenticate'], 'Bearer realm="backend"');
    assert.equal(err.body, 'backend says no\n');
    return true;
  });
});

test('plain HTTP is proxied, with keep-alive on the client side', async () => {
  const body = 'a=1&b=2';
  const request =
    'GET /api/one HTTP/1.1\r\nHost: echo.test\r\n\r\n' +
    `POST /api/two HTTP/1.1\r\nHost: echo.test\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  // Both requests on one connection; read until the second response's JSON has arrived.
  const res = await rawExchange(gw.ports.public, request, { until: /"url":"\/api\/two".*\}$/s });
  const responses = res.split(/(?=HTTP\/1\.1 )/);
  assert.equal(responses.length, 2, res);
  for (const r of responses) assert.equal(statusOf(r), 200);
  const second = JSON.parse(responses[1].slice(responses[1].indexOf('\r\n\r\n') + 4));
  assert.equal(second.method, 'POST');
  assert.equal(second.body, body);
  assert.equal(second.headers['x-forwarded-for'], '127.0.0.1');
  assert.match(responses[0], /x-backend: w1/i);
});

test('chunked request bodies reach the backend whole', async () => {
  const request = 'POST /api/chunked HTTP/1.1\r\nHost: echo.test\r\nTransfer-Encoding: chunked\r\n' +
                  'Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const res = await rawExchange(gw.ports.public, request);
  assert.equal(statusOf(res), 200);
  const json = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4));
  assert.equal(json.body, 'hello world');
  assert.equal(json.headers['transfer-encoding'], undefined);
  assert.equal(json.headers['content-length'], '11');
});
