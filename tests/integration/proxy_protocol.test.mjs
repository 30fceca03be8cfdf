// Issue 33: the PROXY protocol through the real binary. Real HAProxy in TCP mode in front of
// wsgate sends v2 and v1 headers (plain and in front of TLS): a client bound to 127.0.0.7 is
// 127.0.0.7 to the backend, in the access log, in /api/sessions and to an `ip` rate limit. Headers
// written by hand from the trusted address, split, truncated, oversized, missing, sent twice, LOCAL
// and with TLVs get their exact answer; an untrusted peer's header is never believed; after each,
// a good client is still served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startBackend, startGateway, connect, open, routeYaml, sleep, tempDir, freePort, makeCert } from './lib.mjs';

let backend, gw, haproxy;
const ports = {};
const haproxyExited = [];

async function startHaproxy(dir) {
  for (const k of ['v2', 'v1', 'tls']) ports[k] = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(cfg, `global
  maxconn 200
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend v2
  bind 127.0.0.1:${ports.v2}
  default_backend gw_v2
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend gw_v1
frontend tls
  bind 127.0.0.1:${ports.tls}
  default_backend gw_tls
backend gw_v2
  server wsgate 127.0.0.1:${gw.ports.edge} send-proxy-v2
backend gw_v1
  server wsgate 127.0.0.1:${gw.ports.edge} send-proxy
backend gw_tls
  server wsgate 127.0.0.1:${gw.ports['edge-tls']} send-proxy-v2
`);
  const proc = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  haproxyExited.push(new Promise((r) => proc.on('exit', r)));
  for (let i = 0; i < 100; ++i) {
    const up = await new Promise((r) => {
      const s = net.connect(ports.tls, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (up) return proc;
    await sleep(50);
  }
  throw new Error(`haproxy did not start: ${err}`);
}

before(async () => {
  const dir = tempDir();
  const cert = makeCert(dir, 'gw', ['localhost']);
  backend = await startBackend('w1');
  gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: limited, match: { path_prefix: /limited }, rate_limit: per-ip, backends: [ "${backend.url}" ] }`, {
    listeners: `  - { name: edge, bind: "127.0.0.1:0", proxy_protocol: { trusted: [ "127.0.0.1/32" ], timeout: 1s } }
  - name: edge-tls
    bind: "127.0.0.1:0"
    proxy_protocol: { trusted: [ "127.0.0.1" ] }
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `rate_limits:
  - { name: per-ip, key: [ "ip" ], upgrades: { rate: 2, per: 1m, burst: 2 } }`,
  }), { dir });
  haproxy = await startHaproxy(dir);
});

after(async () => {
  if (haproxy && haproxy.exitCode === null) haproxy.kill('SIGKILL');
  await Promise.all(haproxyExited);
  await gw?.stop();
  await backend?.kill();
});

// A WebSocket from `from`, through `port`; what the backend was sent (its "headers" answer).
async function seenBy(port, from, scheme = 'ws', pathname = '/echo') {
  const ws = await open(`${scheme}://127.0.0.1:${port}${pathname}`, { localAddress: from, rejectUnauthorized: false });
  ws.send('headers');
  const seen = JSON.parse((await ws.next()).data.toString());
  return { ws, headers: seen.headers };
}

// A raw connection to the edge listener from `from`, writing `parts` (with a pause between them);
// everything the gateway answers until it closes or `ms` pass.
function raw(parts, { from = '127.0.0.1', port = gw.ports.edge, pause = 0, ms = 4000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let data = '';
    const started = Date.now();
    const timer = setTimeout(() => { s.destroy(); resolve({ data, closed: false, after: Date.now() - started }); }, ms);
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve({ data, closed: true, after: Date.now() - started }); });
    s.on('connect', async () => {
      for (const p of parts) {
        if (s.destroyed) break;
        s.write(p);
        if (pause) await sleep(pause);
      }
    });
  });
}
const request = 'GET /echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const forwardedFor = (answer) => JSON.parse(answer.data.slice(answer.data.indexOf('\r\n\r\n') + 4)).headers['x-forwarded-for'];
async function stillServed() {
  const { ws, headers } = await seenBy(ports.v2, '127.0.0.8');
  assert.equal(headers['x-forwarded-for'], '127.0.0.8');
  ws.close();
}

test('through HAProxy (v2 and v1), the client bound to 127.0.0.7 is 127.0.0.7 everywhere', async () => {
  for (const port of [ports.v2, ports.v1]) {
    const { ws, headers } = await seenBy(port, '127.0.0.7');
    assert.equal(headers['x-forwarded-for'], '127.0.0.7', 'not the balancer 127.0.0.1');
    assert.equal(headers['x-real-ip'], '127.0.0.7');
    const sessions = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/sessions?route=echo`)).json();
    assert.ok(sessions.sessions.some((s) => s.client === '127.0.0.7'), JSON.stringify(sessions));
    assert.ok(!sessions.sessions.some((s) => s.client === '127.0.0.1'));
    ws.close();
  }
  await gw.waitLog(/ access client=127\.0\.0\.7 method=GET host=127\.0\.0\.1:\d+ path=\/echo status=101 .* protocol=http\/1\.1$/);
  assert.equal(await gw.metric('wsgate_proxy_protocol_headers_total{listener="edge",result="ok"}') >= 2, true);
});

test('over TLS: the header comes before the ClientHello and the client is still 127.0.0.7', async () => {
  const { ws, headers } = await seenBy(ports.tls, '127.0.0.7', 'wss');
  assert.equal(headers['x-forwarded-for'], '127.0.0.7');
  assert.equal(headers['x-forwarded-proto'], 'https');
  ws.close();
});

test('an ip rate limit counts the client from the header, apart from another client', async () => {
  const attempt = async (from) => {
    const ws = connect(`ws://127.0.0.1:${ports.v2}/limited`, { localAddress: from });
    return ws.opened.then(() => { ws.close(); return 101; }, (e) => e.status);
  };
  assert.deepEqual([await attempt('127.0.0.7'), await attempt('127.0.0.7'), await attempt('127.0.0.7')], [101, 101, 429]);
  assert.equal(await attempt('127.0.0.8'), 101, '127.0.0.8 has its own budget, though both come from the balancer');
});

test('a header split into 1-byte segments, then the request behind it: nothing lost', async () => {
  const header = 'PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\n';
  const answer = await raw([...header].concat([request]), { pause: 5 });
  assert.match(answer.data, /^HTTP\/1\.1 200/);
  assert.equal(forwardedFor(answer), '198.51.100.7');
  await stillServed();
});

test('v2 with TLVs, the request in the same segment', async () => {
  const sig = Buffer.from([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]);
  const vpce = Buffer.from('\x01vpce-0abc', 'latin1');
  const tlvs = Buffer.concat([Buffer.from([0x02, 0x00, 0x04]), Buffer.from('chat'), Buffer.from([0x30, 0x00, 0x03, 0x61, 0x00, 0x0A]),
                              Buffer.from([0xEA, 0x00, vpce.length]), vpce]);
  const addrs = Buffer.from([203, 0, 113, 9, 127, 0, 0, 1, 0x9C, 0x40, 0x00, 0x50]);
  const body = Buffer.concat([addrs, tlvs]);
  const header = Buffer.concat([sig, Buffer.from([0x21, 0x11, body.length >> 8, body.length & 0xff]), body]);
  const answer = await raw([Buffer.concat([header, Buffer.from(request)])]);
  assert.match(answer.data, /^HTTP\/1\.1 200/);
  assert.equal(forwardedFor(answer), '203.0.113.9');
  // The authority and AWS VPC endpoint TLVs reach the access line; the NUL and LF of the other
  // TLV reach nothing.
  await gw.waitLog(/ access client=203\.0\.113\.9 .* protocol=http\/1\.1 proxy_authority=chat proxy_vpce=vpce-0abc$/);
  await stillServed();
});

test('LOCAL (a balancer health check) is served with the socket address', async () => {
  const local = Buffer.from([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00]);
  const answer = await raw([Buffer.concat([local, Buffer.from(request)])]);
  assert.match(answer.data, /^HTTP\/1\.1 200/);
  assert.equal(forwardedFor(answer), '127.0.0.1');
  assert.ok(await gw.metric('wsgate_proxy_protocol_headers_total{listener="edge",result="local"}') >= 1);
});

test('from the trusted balancer: missing, oversized and truncated headers close the connection', async () => {
  const before = async (result) => gw.metric(`wsgate_proxy_protocol_headers_total{listener="edge",result="${result}"}`);
  const missing = await before('missing'), invalid = await before('invalid'), timeout = await before('timeout');
  let answer = await raw([request]);
  assert.ok(answer.closed && answer.data === '', 'a request without a header gets nothing');
  answer = await raw([`PROXY TCP4 ${'1'.repeat(120)}`]);
  assert.ok(answer.closed && answer.data === '');
  answer = await raw(['PROXY TCP4 198.51.100.7 127.0.0.1 40']);  // and then nothing
  assert.ok(answer.closed && answer.data === '');
  assert.ok(answer.after >= 900 && answer.after < 3000, `closed after ${answer.after} ms (timeout 1s)`);
  assert.equal(await before('missing'), missing + 1);
  assert.equal(await before('invalid'), invalid + 1);
  assert.equal(await before('timeout'), timeout + 1);
  assert.ok(gw.logs.some((l) => / proxy_header_refused peer=127\.0\.0\.1 listener=edge result=timeout/.test(l)));
  await stillServed();
});

test('only the first header counts: a second one is the request line, 400', async () => {
  const header = 'PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\n';
  const answer = await raw([header + 'PROXY TCP4 6.6.6.6 127.0.0.1 1 80\r\n' + request]);
  assert.match(answer.data, /^HTTP\/1\.1 400/);
  await stillServed();
});

test('an untrusted peer is the client itself, and its header is never believed', async () => {
  let answer = await raw([request], { from: '127.0.0.9' });
  assert.match(answer.data, /^HTTP\/1\.1 200/);
  assert.equal(forwardedFor(answer), '127.0.0.9');
  answer = await raw(['PROXY TCP4 6.6.6.6 127.0.0.1 1 80\r\n' + request], { from: '127.0.0.9' });
  assert.match(answer.data, /^HTTP\/1\.1 400/);
  assert.ok(!gw.logs.some((l) => /6\.6\.6\.6/.test(l) && !/request_rejected|access/.test(l)));
  await stillServed();
});
