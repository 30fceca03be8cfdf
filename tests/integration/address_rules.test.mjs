// Issue 33: address rules through the real binary, with clients bound to different loopback
// addresses. A listener's deny_from closes the connection at accept, before any TLS work (a PROXY
// header's client is checked once the header has come); a route's allow_from and deny_from answer
// 403 with one line and a counter, testing the client as the ip key sees it (trusted proxies'
// X-Forwarded-For included, anyone else's not).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startBackend, startGateway, connect, open, routeYaml, tempDir, makeCert, sleep } from './lib.mjs';

let backend, gw;

before(async () => {
  const dir = tempDir();
  const cert = makeCert(dir, 'gw', ['localhost']);
  backend = await startBackend('w1');
  gw = await startGateway(routeYaml(`
  - { name: internal, match: { path_prefix: /internal }, allow_from: [ "127.0.0.7/32", "10.0.0.0/8" ], backends: [ "${backend.url}" ] }
  - { name: open, match: { path_prefix: /open }, deny_from: [ "127.0.0.8" ], backends: [ "${backend.url}" ] }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0", deny_from: [ "127.0.0.9" ] }
  - name: secure
    bind: "127.0.0.1:0"
    deny_from: [ "127.0.0.9" ]
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }
  - { name: edge, bind: "127.0.0.1:0", deny_from: [ "198.51.100.0/24" ], proxy_protocol: { trusted: [ "127.0.0.1" ] } }`,
    extra: 'trusted_proxies: [ "127.0.0.6" ]',
  }), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

async function status(listener, pathname, from, headers = {}) {
  const ws = connect(gw.url(listener, pathname), { localAddress: from, headers });
  return ws.opened.then(() => { ws.close(); return 101; }, (e) => e.status ?? e.code);
}

// What a raw connection from `from` gets before the gateway closes it.
function raw(port, bytes, from) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => s.write(bytes));
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => resolve(data));
  });
}

test('a route allow_from: the addresses it names, 403 for the others, one line and a counter', async () => {
  assert.equal(await status('public', '/internal', '127.0.0.7'), 101);
  assert.equal(await status('public', '/internal', '127.0.0.8'), 403);
  assert.equal(await status('public', '/open', '127.0.0.8'), 403, 'deny_from');
  assert.equal(await status('public', '/open', '127.0.0.7'), 101);
  await gw.waitLog(/request_rejected status=403 route=internal client=127\.0\.0\.8 reason="client address not allowed on this route"/);
  assert.equal(await gw.metric('wsgate_address_denials_total{route="internal"}'), 1);
  assert.equal(await gw.metric('wsgate_address_denials_total{route="open"}'), 1);
});

test("a trusted proxy's X-Forwarded-For counts for route rules; anyone else's does not", async () => {
  assert.equal(await status('public', '/internal', '127.0.0.6', { 'x-forwarded-for': '127.0.0.7' }), 101);
  assert.equal(await status('public', '/internal', '127.0.0.6', { 'x-forwarded-for': '192.0.2.1' }), 403);
  assert.equal(await status('public', '/internal', '127.0.0.8', { 'x-forwarded-for': '127.0.0.7' }), 403,
               'a header any client can write opens nothing');
});

test('a listener deny_from closes the connection at accept, plain and before any TLS', async () => {
  assert.equal(await raw(gw.ports.public, 'GET /open HTTP/1.1\r\nHost: x\r\n\r\n', '127.0.0.9'), '');
  const handshake = await new Promise((resolve) => {
    const s = tls.connect({ port: gw.ports.secure, host: '127.0.0.1', localAddress: '127.0.0.9', servername: 'localhost',
                            rejectUnauthorized: false }, () => resolve('handshake done'));
    s.on('error', (e) => resolve(e.code));
  });
  assert.equal(handshake, 'ECONNRESET');
  const ws = await open(gw.url('public', '/open'), { localAddress: '127.0.0.7' });
  ws.close();
  assert.equal(await gw.metric('wsgate_listener_denied_connections_total{listener="public"}'), 1);
  assert.equal(await gw.metric('wsgate_listener_denied_connections_total{listener="secure"}'), 1);
  await gw.waitLog(/connection_denied listener=secure client=127\.0\.0\.9/);
});

test("behind a balancer, the PROXY header's client is what deny_from tests", async () => {
  const request = 'GET /open HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  assert.equal(await raw(gw.ports.edge, `PROXY TCP4 198.51.100.7 127.0.0.1 1000 80\r\n${request}`), '');
  assert.match(await raw(gw.ports.edge, `PROXY TCP4 203.0.113.5 127.0.0.1 1000 80\r\n${request}`), /^HTTP\/1\.1 200/);
  assert.equal(await gw.metric('wsgate_listener_denied_connections_total{listener="edge"}'), 1);
  // The client's socket closes once its FIN is sent; the gateway reads that FIN (and counts the
  // connection closed) a moment later: a leaked connection stays at 1 past the wait.
  let open = 1;
  for (let i = 0; i < 50 && (open = await gw.metric('wsgate_connections_open{listener="edge"}')) !== 0; i++) await sleep(100);
  assert.equal(open, 0);
});
