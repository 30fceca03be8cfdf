// WebSockets over HTTP/2 (RFC 8441) through the real binary, with Debian's python3-h2 as the
// client (tests/clients/h2_client.py): extended CONNECT on a TLS listener, several sockets on one
// connection, the same route, JWT and frame rules as HTTP/1.1, plain requests, RST_STREAM,
// GOAWAY on drain, and each HTTP/2 attack answered with GOAWAY while a good client goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { wsgateBin, tempDir, startBackend, startGateway, makeCert, routeYaml, open, connect, sleep, rssKiB } from './lib.mjs';

const client = new URL('../clients/h2_client.py', import.meta.url).pathname;
let dir, backend, liar, gw, secretFile, cert;

// A backend that answers every upgrade with 101 and a Sec-WebSocket-Accept for some other key.
function startLiar() {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
        'Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'));
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function routes(backendUrl) {
  return `
  - { name: liar, match: { path_prefix: /liar }, backends: [ "ws://127.0.0.1:${liar.address().port}" ] }
  - { name: secure, match: { path_prefix: /secure }, auth: dev, backends: [ "${backendUrl}" ] }
  - { name: limited, match: { path_prefix: /limited }, backends: [ "${backendUrl}" ], limits: { max_message: 1000 } }
  - { name: echo, match: { path_prefix: / }, backends: [ "${backendUrl}" ] }`;
}

function config(backendUrl, { http2, http = '' } = {}) {
  return routeYaml(routes(backendUrl), {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - name: secure
    bind: "127.0.0.1:0"
    ${http2 === false ? 'http2: false' : ''}
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `${http}
auth:
  providers:
    - name: dev
      issuer: wsgate-dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]
      token_from: [ "query:access_token" ]
      forward_claims: { sub: X-User-Id }`,
  });
}

function token() {
  return execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', 'alice', '--iss', 'wsgate-dev'],
                      { encoding: 'utf8' }).trim();
}

async function h2(...args) {
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [client, String(gw.ports.secure), ...args],
                                                { timeout: 30000 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

before(async () => {
  dir = tempDir();
  secretFile = path.join(dir, 'dev.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64'));
  cert = makeCert(dir, 'gw', ['localhost']);
  backend = await startBackend('h2-backend');
  liar = await startLiar();
  gw = await startGateway(config(backend.url), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  liar?.close();
});

test('ALPN h2: three WebSockets on one connection echo text and binary and close with 1000', async () => {
  const r = await h2('ws', '/echo/a', '/echo/b', '/echo/c');
  assert.equal(r.alpn, 'h2');
  assert.equal(r.enable_connect_protocol, true, 'SETTINGS_ENABLE_CONNECT_PROTOCOL');
  assert.equal(r.streams.length, 3);
  r.streams.forEach((s, i) => {
    assert.equal(s.status, 200);
    assert.deepEqual(s.messages, [`hello ${i}`, `binary:${i.toString(16).padStart(2, '0')}0102`]);
    assert.equal(s.close_code, 1000);
    assert.equal(s.close_reason, 'bye');
  });
  await gw.waitLog(/session_closed .*route=echo/);
  assert.equal(await gw.metric('wsgate_http2_connections_total{listener="secure"}'), 1);
  assert.ok(await gw.metric('wsgate_http2_streams_total{listener="secure",kind="websocket"}') >= 3);
});

test('a JWT in the query authenticates an HTTP/2 WebSocket; without one it gets 401', async () => {
  const ok = await h2('ws', `/secure/room?access_token=${token()}`);
  assert.equal(ok.streams[0].status, 200);
  assert.equal(ok.streams[0].close_code, 1000);
  const refused = await h2('ws', '/secure/room');
  assert.equal(refused.streams[0].status, 401);
  await gw.waitLog(/request_rejected status=401 route=secure/);
});

test('what the backend receives: an HTTP/1.1 upgrade with the gateway\'s key, the token cut, the claims set', async () => {
  const r = await h2('ask', `/secure/x?access_token=${token()}&keep=1`, 'headers',
                     JSON.stringify([['x-user-id', 'mallory'], ['cookie', 'a=1'], ['cookie', 'b=2']]));
  assert.equal(r.streams[0].status, 200);
  const seen = JSON.parse(r.streams[0].messages[0]);
  assert.equal(seen.url, '/secure/x?keep=1');
  assert.equal(seen.headers['x-user-id'], 'alice', 'the forged claim header is replaced');
  assert.equal(seen.headers.cookie, 'a=1; b=2', 'the cookie fields joined into one');
  assert.equal(seen.headers.host, 'localhost');
  assert.equal(seen.headers.upgrade, 'websocket');
  assert.equal(seen.headers['sec-websocket-version'], '13');
  assert.match(seen.headers['sec-websocket-key'], /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
});

test('a backend whose 101 does not answer the key gets 502, over HTTP/2 and HTTP/1.1', async () => {
  const r = await h2('ws', '/liar');
  assert.equal(r.streams[0].status, 502);
  const ws = connect(gw.url('public', '/liar'));
  await assert.rejects(ws.opened, (err) => err.status === 502);
  await gw.waitLog(/request_rejected status=502 route=liar .*Sec-WebSocket-Accept does not answer the key/);
});

test('plain HTTP/2 requests are proxied over HTTP/1.1, a body in DATA frames included', async () => {
  const get = await h2('get', '/poll?EIO=4&transport=polling');
  assert.equal(get.streams[0].status, 200);
  const seen = JSON.parse(get.streams[0].body);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/poll?EIO=4&transport=polling');
  const post = await h2('post', '/poll?sid=1', '40{"hello":"world"}');
  assert.equal(post.streams[0].status, 200);
  const posted = JSON.parse(post.streams[0].body);
  assert.equal(posted.method, 'POST');
  assert.equal(posted.body, '40{"hello":"world"}');
  assert.equal(await gw.metric('wsgate_http2_streams_total{listener="secure",kind="request"}') >= 2, true);
});

test('the frame rules hold on HTTP/2: a message over the route\'s max_message closes with 1009', async () => {
  const small = await h2('big', '/limited', '900');
  assert.equal(small.streams[0].close_code, null, 'within the limit: echoed, no close');
  const r = await h2('big', '/limited', '2000');
  assert.equal(r.streams[0].status, 200);
  assert.equal(r.streams[0].close_code, 1009);
});

test('a stream whose client stops reading stalls its backend instead of filling the gateway', async () => {
  const stall = spawn('/usr/bin/python3', [client, String(gw.ports.secure), 'stall', '/echo/stall', '300', '100000']);
  let out = '';
  stall.stdout.on('data', (d) => { out += d; });
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(50);
  const before = rssKiB(gw.proc.pid);
  await sleep(1500);  // the backend sends 30 MB; the client reads none of it
  const during = rssKiB(gw.proc.pid);
  assert.ok(during - before < 8 * 1024, `gateway RSS grew by ${during - before} KiB while the client did not read`);
  stall.stdin.write('go\n');
  await new Promise((resolve) => stall.on('exit', resolve));
  const r = JSON.parse(out.trim().split('\n').pop());
  assert.equal(r.streams[0].count, 300);
  assert.equal(r.in_order, 300);
});

test('a refused head: an extended CONNECT for another protocol gets 501, and the connection goes on', async () => {
  const r = await h2('raw', '/x', JSON.stringify([[':method', 'CONNECT'], [':protocol', 'webtransport'],
                                                  [':scheme', 'https'], [':authority', 'localhost'], [':path', '/x']]));
  assert.equal(r.streams[0].status, 501);
  await gw.waitLog(/request_rejected status=501 .*only the websocket protocol is supported/);
  assert.ok(await gw.metric('wsgate_http2_streams_total{listener="secure",kind="refused"}') >= 1);
});

test('RST_STREAM mid-session closes that session\'s backend connection; the next stream works', async () => {
  const before = await gw.metric('wsgate_sessions_active{route="echo"');
  const r = await h2('reset', '/echo/reset');
  assert.deepEqual(r.streams[0].messages, ['hello 0']);
  assert.deepEqual(r.streams[1].messages, ['hello 1']);
  await gw.waitLog(/session_closed .*route=echo/);
  for (let i = 0; i < 50 && (await gw.metric('wsgate_sessions_active{route="echo"')) > before; i++) await sleep(100);
  assert.equal(await gw.metric('wsgate_sessions_active{route="echo"'), before);
});

for (const [kind, cause] of [['rapid_reset', 'rapid_reset'], ['continuation', 'continuation_flood'],
                             ['hpack_bomb', 'hpack_bomb'], ['ping_flood', 'control_flood'],
                             ['settings_flood', 'control_flood']]) {
  test(`${kind}: GOAWAY and counted, while a good client beside it goes on`, async () => {
    const good = spawn('/usr/bin/python3', [client, String(gw.ports.secure), 'hold', '/echo/good']);
    let goodOut = '';
    good.stdout.on('data', (d) => { goodOut += d; });
    for (let i = 0; i < 100 && !goodOut.includes('ready'); i++) await sleep(50);
    const r = await h2('attack', kind, '/echo/attack');
    assert.equal(r.goaway, 11, `${kind}: GOAWAY ENHANCE_YOUR_CALM, got ${JSON.stringify(r)}`);
    await gw.waitLog(new RegExp(`http2_goaway .*cause=${cause}`));
    assert.ok(await gw.metric(`wsgate_http2_goaways_total{listener="secure",cause="${cause}"}`) >= 1);
    // The good client's session is untouched: a new one beside it still works too.
    const after = await h2('ws', '/echo/after');
    assert.equal(after.streams[0].close_code, 1000);
    assert.equal(good.exitCode, null, 'the good client is still connected');
    good.kill();
  });
}

test('http2: false offers http/1.1 alone', async () => {
  const other = await startGateway(config(backend.url, { http2: false }), { dir: tempDir() });
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [client, String(other.ports.secure), 'ws', '/echo'],
                                                  { timeout: 30000 });
    assert.equal(JSON.parse(stdout).alpn, 'http/1.1');
    const ws = await open(`wss://127.0.0.1:${other.ports.secure}/echo`, { rejectUnauthorized: false });
    ws.send('over http/1.1');
    assert.equal((await ws.next()).data.toString(), 'over http/1.1');
    ws.close();
  } finally {
    await other.stop();
  }
});

test('SIGTERM drain: GOAWAY on the connection and 1001 to its WebSocket', async () => {
  const other = await startGateway(config(backend.url), { dir: tempDir() });
  const held = spawn('/usr/bin/python3', [client, String(other.ports.secure), 'hold', '/echo/held']);
  let out = '';
  held.stdout.on('data', (d) => { out += d; });
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(50);
  other.proc.kill('SIGTERM');
  await new Promise((resolve) => held.on('exit', resolve));
  const r = JSON.parse(out.trim().split('\n').pop());
  assert.equal(r.goaway, 0, 'GOAWAY NO_ERROR');
  assert.equal(r.streams[0].close_code, 1001);
  const { code } = await other.exited;
  assert.equal(code, 0);
});

test('a connection that opens no stream ends with GOAWAY after keepalive_timeout', async () => {
  const other = await startGateway(config(backend.url, { http: 'http: { keepalive_timeout: 1s }' }), { dir: tempDir() });
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [client, String(other.ports.secure), 'idle'],
                                                  { timeout: 30000 });
    const r = JSON.parse(stdout);
    assert.equal(r.goaway, 0);
    assert.ok(r.seconds_to_goaway >= 0.9 && r.seconds_to_goaway < 4, `${r.seconds_to_goaway} s`);
  } finally {
    await other.stop();
  }
});
