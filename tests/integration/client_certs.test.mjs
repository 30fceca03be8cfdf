// Issue 33: client certificates (client_auth) through the real binary, with a PKI made by openssl
// in the test: a CA with a CRL, a good client, a revoked one, an expired one, one of another CA and
// one behind a chain deeper than verify_depth. On the SNI name whose certificate requires them,
// every bad one fails the handshake, counted by reason, and a good client is served after each;
// the other name asks for none. A session made under one name is never resumed under the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { startBackend, startGateway, open, connect, routeYaml, tempDir, makeCert } from './lib.mjs';

let backend, gw, dir;
const pki = {};

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA with an index, so that it can revoke and issue a CRL (`openssl ca`).
function makePki() {
  mkdirSync(path.join(dir, 'newcerts'));
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(path.join(dir, 'crlnumber'), '1000\n');
  writeFileSync(path.join(dir, 'ca.cnf'), `[ ca ]
default_ca = ca_default
[ ca_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.crt
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 2
default_crl_days = 2
policy = policy_any
[ policy_any ]
commonName = supplied
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://test/client
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = keyCertSign,cRLSign
`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca',
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign,cRLSign');
  const client = (name, extra = []) => {
    openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('ca', '-batch', '-config', 'ca.cnf', '-extensions', 'client', '-in', `${name}.csr`, '-out', `${name}.crt`, ...extra);
    return { cert: readFileSync(path.join(dir, `${name}.crt`)), key: readFileSync(path.join(dir, `${name}.key`)) };
  };
  pki.good = client('good');
  pki.good2 = client('good2');
  pki.revoked = client('revoked');
  pki.expired = client('expired', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  openssl('ca', '-config', 'ca.cnf', '-revoke', 'revoked.crt');
  openssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem');
  // Another CA's client.
  openssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other-ca',
          '-addext', 'basicConstraints=critical,CA:TRUE');
  openssl('req', '-new', ...ec, '-keyout', 'stranger.key', '-out', 'stranger.csr', '-subj', '/CN=stranger');
  openssl('x509', '-req', '-in', 'stranger.csr', '-CA', 'other.crt', '-CAkey', 'other.key', '-CAcreateserial',
          '-out', 'stranger.crt', '-days', '2');
  pki.stranger = { cert: readFileSync(path.join(dir, 'stranger.crt')), key: readFileSync(path.join(dir, 'stranger.key')) };
  // Five intermediates under the CA, one more than verify_depth allows; the client sends them all.
  let issuer = 'ca';
  const chain = [];
  for (let i = 1; i <= 5; ++i) {
    openssl('req', '-new', ...ec, '-keyout', `i${i}.key`, '-out', `i${i}.csr`, '-subj', `/CN=intermediate-${i}`);
    openssl('x509', '-req', '-in', `i${i}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial',
            '-out', `i${i}.crt`, '-days', '2', '-extfile', 'ca.cnf', '-extensions', 'ca_ext');
    chain.unshift(readFileSync(path.join(dir, `i${i}.crt`)));
    issuer = `i${i}`;
  }
  openssl('req', '-new', ...ec, '-keyout', 'deep.key', '-out', 'deep.csr', '-subj', '/CN=deep');
  openssl('x509', '-req', '-in', 'deep.csr', '-CA', 'i5.crt', '-CAkey', 'i5.key', '-CAcreateserial', '-out', 'deep.crt', '-days', '2');
  pki.deep = { cert: Buffer.concat([readFileSync(path.join(dir, 'deep.crt')), ...chain]), key: readFileSync(path.join(dir, 'deep.key')) };
  // Server certificates issued by intermediate-1: one file with the intermediate after the
  // certificate, one without it, whose client_auth CAs hold the intermediate (a chain OpenSSL would
  // otherwise complete from them).
  for (const name of ['chained', 'bare']) {
    writeFileSync(path.join(dir, `${name}.cnf`), `subjectAltName=DNS:${name}.test\n`);
    openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}.test`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'i1.crt', '-CAkey', 'i1.key', '-CAcreateserial',
            '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.cnf`);
  }
  writeFileSync(path.join(dir, 'chained-with-i1.crt'), Buffer.concat([readFileSync(path.join(dir, 'chained.crt')), readFileSync(path.join(dir, 'i1.crt'))]));
  writeFileSync(path.join(dir, 'ca-and-i1.crt'), Buffer.concat([readFileSync(path.join(dir, 'ca.crt')), readFileSync(path.join(dir, 'i1.crt'))]));
}

before(async () => {
  dir = tempDir();
  makePki();
  const open_ = makeCert(dir, 'open', ['open.test']);
  const strict = makeCert(dir, 'strict', ['strict.test']);
  backend = await startBackend('w1');
  gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }
  - { name: certonly, match: { path_prefix: /certonly }, require_client_cert: true, backends: [ "${backend.url}" ] }
  - { name: limited, match: { path_prefix: /limited }, rate_limit: per-cert, backends: [ "${backend.url}" ] }`, {
    extra: `rate_limits:
  - { name: per-cert, key: [ "cert:subject", "ip" ], upgrades: { rate: 1, per: 1m, burst: 1 } }`,
    listeners: `  - name: secure
    bind: "127.0.0.1:0"
    http2: false
    tls:
      certificates:
        - { cert: ${open_.cert}, key: ${open_.key} }
        - cert: ${strict.cert}
          key: ${strict.key}
          client_auth: { mode: required, ca_file: ${path.join(dir, 'ca.crt')}, crl_file: ${path.join(dir, 'crl.pem')}, verify_depth: 4 }
        - { cert: ${path.join(dir, 'chained-with-i1.crt')}, key: ${path.join(dir, 'chained.key')} }
        - cert: ${path.join(dir, 'bare.crt')}
          key: ${path.join(dir, 'bare.key')}
          client_auth: { mode: optional, ca_file: ${path.join(dir, 'ca-and-i1.crt')} }`,
  }), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

// A TLS connection to `servername` with `who`'s certificate (or none) that sends one request:
// whether the handshake held and an answer came, and whether the session was resumed.
function attempt(servername, who, { session, target = '/x', headers = '' } = {}) {
  return new Promise((resolve) => {
    const s = tls.connect({ port: gw.ports.secure, host: '127.0.0.1', servername, rejectUnauthorized: false, session,
                            ...(who ? { cert: who.cert, key: who.key } : {}) });
    let data = '';
    let ticket = null;
    let reused = false;
    s.on('session', (t) => { ticket = t; });
    s.on('secureConnect', () => {
      reused = s.isSessionReused();
      s.write(`GET ${target} HTTP/1.1\r\nHost: ${servername}\r\n${headers}Connection: close\r\n\r\n`);
    });
    s.on('data', (d) => { data += d; });
    s.on('error', () => {});
    s.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0);
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ answered: status === 200, status, seen: status === 200 ? JSON.parse(body).headers : null, reused, ticket });
    });
  });
}
const failures = (reason) => gw.metric(`wsgate_tls_client_cert_failures_total{listener="secure",reason="${reason}"}`);

test('the name that requires client certificates: a good one is served', async () => {
  assert.equal((await attempt('strict.test', pki.good)).answered, true);
  const ws = await open(`wss://127.0.0.1:${gw.ports.secure}/`, { servername: 'strict.test', rejectUnauthorized: false,
                                                                  cert: pki.good.cert, key: pki.good.key });
  ws.close();
  assert.ok(await gw.metric('wsgate_tls_client_certs_verified_total{listener="secure"}') >= 2);
});

for (const [who, reason] of [[null, 'no_certificate'], ['stranger', 'unknown_ca'], ['revoked', 'revoked'],
                             ['expired', 'expired'], ['deep', 'chain_too_long']]) {
  test(`${who ?? 'no certificate'}: the handshake fails, counted as ${reason}; a good client is served after`, async () => {
    const before = await failures(reason);
    assert.equal((await attempt('strict.test', who ? pki[who] : null)).answered, false);
    assert.equal(await failures(reason), before + 1);
    await gw.waitLog(new RegExp(`client_certificate_refused client=127\\.0\\.0\\.1 listener=secure reason=${reason}`));
    assert.equal((await attempt('strict.test', pki.good)).answered, true);
  });
}

test('the other name asks for no certificate', async () => {
  assert.equal((await attempt('open.test', null)).answered, true);
  assert.equal((await attempt('open.test', pki.stranger)).answered, true, 'none asked, none checked');
});

test('a session made under one name is never resumed under the other', async () => {
  const first = await attempt('open.test', null);
  assert.ok(first.ticket, 'a ticket came');
  const again = await attempt('open.test', null, { session: first.ticket });
  assert.equal(again.reused, true, 'resumption works at all, under the same name');
  const crossed = await attempt('strict.test', null, { session: again.ticket ?? first.ticket });
  assert.equal(crossed.reused, false, 'not resumed under the name that requires a certificate');
  assert.equal(crossed.answered, false, 'and without a certificate its full handshake fails');
  const strictFirst = await attempt('strict.test', pki.good);
  const back = await attempt('open.test', null, { session: strictFirst.ticket });
  assert.equal(back.reused, false, 'nor the other way round');
});

// The chain a server certificate's file holds is sent as it is, and nothing is added to it: a
// client that trusts the root verifies the first name; the second's file lacks the intermediate.
test('the server sends the chain in its certificate file, as it is', async () => {
  const handshake = (servername) => new Promise((resolve) => {
    const s = tls.connect({ port: gw.ports.secure, host: '127.0.0.1', servername, ca: readFileSync(path.join(dir, 'ca.crt')) }, () => {
      const leaf = s.getPeerCertificate(true);
      s.end();
      resolve({ ok: true, leaf: leaf.subject.CN, issuer: leaf.issuerCertificate?.subject.CN });
    });
    s.on('error', (e) => resolve({ ok: false, code: e.code }));
  });
  assert.deepEqual(await handshake('chained.test'), { ok: true, leaf: 'chained.test', issuer: 'intermediate-1' });
  assert.deepEqual(await handshake('bare.test'), { ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

test('the verified identity reaches the backend as X-Forwarded-Client-Cert; a forged one never does', async () => {
  const forged = 'X-Forwarded-Client-Cert: Hash=00;Subject="CN=admin"\r\nX_Forwarded_Client_Cert: URI=spiffe://evil\r\n';
  const r = await attempt('strict.test', pki.good, { headers: forged });
  assert.equal(r.status, 200);
  assert.match(r.seen['x-forwarded-client-cert'], /^Hash=[0-9a-f]{64};Subject="CN=good";URI=spiffe:\/\/test\/client$/);
  assert.equal(r.seen['x_forwarded_client_cert'], undefined, 'no spelling of it passes');
  const open_ = await attempt('open.test', null, { headers: forged });
  assert.equal(open_.status, 200);
  assert.equal(open_.seen['x-forwarded-client-cert'], undefined, 'no certificate, no header: the forged one is gone');
  assert.equal(open_.seen['x_forwarded_client_cert'], undefined);
});

test('require_client_cert: 403 without a verified certificate', async () => {
  assert.equal((await attempt('open.test', null, { target: '/certonly' })).status, 403);
  assert.equal((await attempt('open.test', pki.good, { target: '/certonly' })).status, 403, 'open.test verifies none');
  assert.equal((await attempt('strict.test', pki.good, { target: '/certonly' })).status, 200);
});

test('cert:subject keys a rate limit by the verified certificate', async () => {
  const upgrade = async (who) => {
    const ws = connect(`wss://127.0.0.1:${gw.ports.secure}/limited`, { servername: 'strict.test', rejectUnauthorized: false,
                                                                      cert: who.cert, key: who.key });
    return ws.opened.then(() => { ws.close(); return 101; }, (e) => e.status);
  };
  assert.deepEqual([await upgrade(pki.good), await upgrade(pki.good)], [101, 429]);
  assert.equal(await upgrade(pki.good2), 101, 'another certificate, another key');
});

test('curl with a client certificate, for a plain request', async () => {
  const port = gw.ports.secure;
  const { stdout } = await promisify(execFile)('curl', ['-sS', '-k', '--resolve', `strict.test:${port}:127.0.0.1`,
    '--cert', path.join(dir, 'good.crt'), '--key', path.join(dir, 'good.key'), `https://strict.test:${port}/x`]);
  assert.match(JSON.parse(stdout).headers['x-forwarded-client-cert'], /Subject="CN=good"/);
  const refused = await promisify(execFile)('curl', ['-sS', '-k', '--resolve', `strict.test:${port}:127.0.0.1`,
    `https://strict.test:${port}/x`]).then(() => 'answered', (e) => e.code);
  assert.notEqual(refused, 'answered', 'no certificate, no answer');
});

// Python's ssl module (Debian's python3) as the client: a context with the client's certificate
// against the name that requires one, and one without it.
test("Python's ssl client: served with its certificate, refused without", async () => {
  const script = `
import json, socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if cert:
    ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="strict.test") as s:
            s.sendall(b"GET /x HTTP/1.1\\r\\nHost: strict.test\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    print(json.dumps({"status": data.split(b" ", 2)[1].decode() if data else None}))
except (ssl.SSLError, OSError) as e:
    print(json.dumps({"status": None, "error": type(e).__name__}))
`;
  const run = async (...certArgs) => JSON.parse((await promisify(execFile)('/usr/bin/python3',
    ['-c', script, String(gw.ports.secure), ...certArgs])).stdout);
  assert.equal((await run(path.join(dir, 'good.crt'), path.join(dir, 'good.key'))).status, '200');
  assert.equal((await run('', '')).status, null);
});

test('SIGHUP reads the CRL again: a certificate revoked since is refused', async () => {
  assert.equal((await attempt('strict.test', pki.good2)).answered, true);
  openssl('ca', '-config', 'ca.cnf', '-revoke', 'good2.crt');
  openssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem');
  const before = await failures('revoked');
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/config_reloaded/);
  assert.equal((await attempt('strict.test', pki.good2)).answered, false);
  assert.equal(await failures('revoked'), before + 1);
  assert.equal((await attempt('strict.test', pki.good)).answered, true);
});
