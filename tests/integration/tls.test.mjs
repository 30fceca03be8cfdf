// TLS through the real binary: termination with two certificates chosen by SNI, TLS 1.2+ only,
// ALPN http/1.1, and wss:// backends verified against a CA file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { startBackend, startGateway, open, connect, makeCert, tempDir, routeYaml } from './lib.mjs';

let dir, backend, tlsBackend, gw, certA, certB;

before(async () => {
  dir = tempDir();
  certA = makeCert(dir, 'a', ['a.wsgate.test']);
  certB = makeCert(dir, 'b', ['b.wsgate.test', '*.b.wsgate.test']);
  const backendCert = makeCert(dir, 'backend', ['localhost']);
  backend = await startBackend('plain-1');
  tlsBackend = await startBackend('tls-1', { tls: backendCert });
  gw = await startGateway(routeYaml(`
  - name: echo
    match: { path_prefix: / }
    backends: [ "${backend.url}" ]
  - name: secure-upstream
    match: { path_prefix: /upstream-tls }
    backends: [ "wss://localhost:${tlsBackend.port}" ]
    backend_ca_file: ${backendCert.cert}
  - name: untrusted-upstream
    match: { path_prefix: /untrusted }
    backends: [ "wss://localhost:${tlsBackend.port}" ]
    backend_ca_file: ${certA.cert}
`, { listeners: `  - name: public
    bind: "127.0.0.1:0"
  - name: secure
    bind: "127.0.0.1:0"
    tls:
      certificates:
        - { cert: ${certA.cert}, key: ${certA.key} }
        - { cert: ${certB.cert}, key: ${certB.key} }`, }), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  await tlsBackend?.kill();
});

function peerCertificate(servername, options = {}) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.ports.secure, servername,
                            rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'], ...options }, () => {
      const info = { cn: s.getPeerCertificate().subject.CN, alpn: s.alpnProtocol, version: s.getProtocol() };
      s.end();
      resolve(info);
    });
    s.on('error', reject);
  });
}

test('SNI selects the certificate; unknown names get the first', async () => {
  assert.equal((await peerCertificate('a.wsgate.test')).cn, 'a.wsgate.test');
  assert.equal((await peerCertificate('b.wsgate.test')).cn, 'b.wsgate.test');
  assert.equal((await peerCertificate('x.b.wsgate.test')).cn, 'b.wsgate.test');  // wildcard SAN
  assert.equal((await peerCertificate('other.test')).cn, 'a.wsgate.test');
});

test('ALPN picks h2 when offered, http/1.1 otherwise, and TLS 1.3 is offered', async () => {
  const info = await peerCertificate('a.wsgate.test');
  assert.equal(info.alpn, 'h2');
  assert.equal(info.version, 'TLSv1.3');
  assert.equal((await peerCertificate('a.wsgate.test', { ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
  assert.equal((await peerCertificate('a.wsgate.test', { ALPNProtocols: ['spdy/3'] })).alpn, false);
});

test("TLS 1.2: the client's order of cipher suites decides", async () => {
  const cipher = (ciphers) => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.ports.secure, servername: 'a.wsgate.test', rejectUnauthorized: false,
                            maxVersion: 'TLSv1.2', ciphers }, () => { resolve(s.getCipher().standardName); s.end(); });
    s.on('error', reject);
  });
  assert.equal(await cipher('ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256'), 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
  assert.equal(await cipher('ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256'), 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
  assert.equal(await cipher('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384'), 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
  await assert.rejects(cipher('ECDHE-ECDSA-AES128-SHA'));  // CBC is not offered
});

test('TLS 1.1 is refused', async () => {
  await assert.rejects(peerCertificate('a.wsgate.test', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
});

// One request over a TLS connection, offering `session`; resolves with whether the server resumed
// it, the tickets it issued and the session to offer next.
function requestOverTls(session, maxVersion) {
  return new Promise((resolve, reject) => {
    const tickets = [];
    let reused = null;
    const s = tls.connect({ host: '127.0.0.1', port: gw.ports.secure, servername: 'a.wsgate.test',
                            rejectUnauthorized: false, session, maxVersion }, () => {
      reused = s.isSessionReused();
      s.write('GET /plain HTTP/1.1\r\nHost: a.wsgate.test\r\nConnection: close\r\n\r\n');
    });
    s.on('session', (t) => tickets.push(t));
    s.on('data', () => {});
    s.on('error', reject);
    s.on('close', () => resolve({ reused, tickets }));
  });
}

for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
  test(`${maxVersion}: a client resumes with its session ticket, on any connection after the first`, async () => {
    const first = await requestOverTls(undefined, maxVersion);
    assert.equal(first.reused, false);
    if (maxVersion === 'TLSv1.3') assert.equal(first.tickets.length, 1, 'one ticket per handshake');
    assert.ok(first.tickets.length >= 1);
    let session = first.tickets.at(-1);
    for (let i = 0; i < 3; i++) {
      const next = await requestOverTls(session, maxVersion);
      assert.equal(next.reused, true, `connection ${i + 2} resumed`);
      session = next.tickets.at(-1) ?? session;
    }
  });
}

test('wss:// through the terminating listener, with each SNI name', async () => {
  for (const [name, cert] of [['a.wsgate.test', certA], ['b.wsgate.test', certB]]) {
    const ws = await open(`wss://127.0.0.1:${gw.ports.secure}/echo`,
                          { servername: name, ca: [readFileSync(cert.cert)] });
    const payload = randomBytes(200000);
    ws.send(payload);
    assert.ok(Buffer.compare((await ws.next()).data, payload) === 0);
    ws.send('headers');
    const seen = JSON.parse((await ws.next()).data.toString());
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    ws.close();
    assert.equal((await ws.closed).code, 1005);
  }
});

test('wss:// backend verified against backend_ca_file', async () => {
  const ws = await open(gw.url('public', '/upstream-tls'));
  ws.send('whoami');
  assert.equal((await ws.next()).data.toString(), 'tls-1');
  const payload = randomBytes(300000);
  ws.send(payload);
  assert.ok(Buffer.compare((await ws.next()).data, payload) === 0);
  ws.close();
});

test('a backend certificate not signed by the CA gets 502', async () => {
  const ws = connect(gw.url('public', '/untrusted'));
  await assert.rejects(ws.opened, (err) => err.status === 502);
  await gw.waitLog(/backend_tls_failed/);
});

// From its second short read on, a read of a TLS session stops when OpenSSL's last recv() was short and
// nothing is left in its buffers, unless epoll has shown a FIN: here the end is already there,
// a bare FIN (seen only by epoll) or close_notify and FIN (seen by OpenSSL too). A client that
// leaves without a close frame gets 1001 (the echo of "two" is not awaited).
for (const ending of ['FIN', 'close_notify and FIN']) {
  test(`data and ${ending} arriving together after earlier messages: relayed, then ended at once`, async () => {
    const { spawnSync } = await import('node:child_process');
    const script = new URL('../clients/abrupt_tls_client.py', import.meta.url).pathname;
    const args = [script, String(gw.ports.secure), '/abrupt'];
    if (ending !== 'FIN') args.push('close-notify');
    const out = spawnSync('python3', args, { encoding: 'utf8', timeout: 10000 });
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout);
    assert.deepEqual(result.frames.slice(0, 2), ['one', 'again']);
    assert.match(result.frames[2], /^opcode 8 03e9/);  // 1001
    assert.ok(result.ms_to_eof < 1000, `ended after ${result.ms_to_eof} ms`);
    await gw.waitLog(/session_closed .*messages_in=3 /);
  });
}

// A relayed message of more than one TLS record goes out as one batch of records in one send();
// records the socket does not take wait in the gateway and go before anything else. A client that
// stops reading fills the socket mid-batch, over TLS on both sides here.
test('a wss:// client that stops reading gets every large message intact once it reads again', async () => {
  const ws = await open(`wss://127.0.0.1:${gw.ports.secure}/upstream-tls`,
                        { servername: 'a.wsgate.test', ca: [readFileSync(certA.cert)] });
  ws._socket.pause();
  const sent = [];
  for (let i = 0; i < 24; i++) {
    const payload = randomBytes(250000 + i * 4099);  // record boundaries fall everywhere
    sent.push(payload);
    ws.send(payload);
  }
  await new Promise((r) => setTimeout(r, 1500));
  ws._socket.resume();
  for (const payload of sent) {
    const got = (await ws.next(10000)).data;
    assert.equal(got.length, payload.length);
    assert.ok(Buffer.compare(got, payload) === 0, 'a message came back changed');
  }
  ws.close();
  assert.equal((await ws.closed).code, 1005);
});
