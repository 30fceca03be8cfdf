// Keys from a JWKS URL through the real binary: a local HTTPS server (its own CA) publishes the
// keys, rotates them during the run and then fails; wsgate follows the rotation without a restart,
// fetches at most once per min_refresh_interval however many unknown kids arrive, and keeps the
// last good keys when the provider breaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { tempDir, startBackend, startGateway, open, connect, routeYaml, makeCert, sleep } from './lib.mjs';

const b64url = (data) => Buffer.from(data).toString('base64url');

function keyPair(kind, kid) {
  const { privateKey, publicKey } = kind === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, alg: kind === 'rsa' ? 'RS256' : 'ES256',
           jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

function jwt(key, { kid = key.kid, exp = Math.floor(Date.now() / 1000) + 600 } = {}) {
  const input = `${b64url(JSON.stringify({ alg: key.alg, typ: 'JWT', kid }))}.` +
                b64url(JSON.stringify({ sub: 'alice', iss: 'idp', exp }));
  const signature = key.alg === 'RS256'
    ? createSign('sha256').update(input).sign(key.privateKey)
    : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

const rsaKey = keyPair('rsa', 'rsa-1');
const ecKey = keyPair('ec', 'ec-2');
let published = { status: 200, body: JSON.stringify({ keys: [rsaKey.jwk] }) };
let fetches = 0;
let idp, backend, gw;

before(async () => {
  const dir = tempDir();
  const { cert, key } = makeCert(dir, 'idp', ['localhost']);
  idp = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    ++fetches;
    if (req.url !== '/.well-known/jwks.json') return res.writeHead(404).end();
    if (published.trailer) {  // chunked, with a trailer field
      res.writeHead(published.status, { 'content-type': 'application/json', trailer: 'X-T' }).write(published.body);
      res.addTrailers({ 'X-T': published.trailer });
      return res.end();
    }
    res.writeHead(published.status, { 'content-type': 'application/json' }).end(published.body);
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  backend = await startBackend('w1');
  gw = await startGateway(routeYaml(`
  - { name: secure, match: { path_prefix: / }, auth: idp, backends: [ "${backend.url}" ] }`, { extra: `auth:
  providers:
    - name: idp
      issuer: idp
      algorithms: [ RS256, ES256 ]
      keys:
        - jwks_url: "https://localhost:${idp.address().port}/.well-known/jwks.json"
          ca_file: ${cert}
          refresh_interval: 1h
          min_refresh_interval: 1s
      forward_claims: { sub: X-User-Id }` }), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  idp?.close();
});

function status(token) {
  const ws = connect(gw.url('public', '/'), { headers: { authorization: `Bearer ${token}` } });
  return ws.opened.then(() => { ws.close(); return 101; }, (err) => err.status);
}

test('the keys are fetched at start and verify tokens', async () => {
  await gw.waitLog(/jwks_updated .*keys=1 generation=1/);
  const ws = await open(gw.url('public', '/'), { headers: { authorization: `Bearer ${jwt(rsaKey)}` } });
  ws.send('whoami');
  assert.match((await ws.next()).data.toString(), /w1/);
  ws.close();
});

test('a rotation is followed at the first token with the new kid, and the retired key stops working', async () => {
  await sleep(1100);  // past min_refresh_interval since the fetch at start
  const before = fetches;
  published = { status: 200, body: JSON.stringify({ keys: [ecKey.jwk] }) };
  // No restart, no SIGHUP, refresh_interval an hour away: the unknown kid triggers the fetch and
  // the request waits for it.
  assert.equal(await status(jwt(ecKey)), 101);
  assert.equal(fetches, before + 1);
  await gw.waitLog(/jwks_updated .*keys=1 generation=2/);
  await sleep(1100);  // past min_refresh_interval, so the old kid gets its own fetch too
  assert.equal(await status(jwt(rsaKey)), 401, 'a key the provider retired no longer vouches');
  await gw.waitLog(/request_rejected status=401 .*reason="unknown key"/);
});

test('a query token with a new kid survives the wait for the refresh and is still cut from the URL', async () => {
  await sleep(1100);
  const next = keyPair('ec', 'ec-3');
  published = { status: 200, body: JSON.stringify({ keys: [ecKey.jwk, next.jwk] }) };
  const ws = await open(gw.url('public', `/room?access_token=${jwt(next)}&x=1`));
  ws.send('headers');
  const seen = JSON.parse((await ws.next()).data.toString());
  assert.equal(seen.url, '/room?x=1');
  assert.equal(seen.headers['x-user-id'], 'alice');
  ws.close();
});

test('unknown kids cannot make wsgate hammer the provider', async () => {
  await sleep(1100);
  const before = fetches;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => status(jwt(ecKey, { kid: `made-up-${i}` }))));
  assert.deepEqual(new Set(answers), new Set([401]));
  assert.equal(fetches - before, 1, 'one fetch for twenty unknown kids within min_refresh_interval');
});

test('a failing provider leaves the last good keys in use', async () => {
  await sleep(1100);
  published = { status: 500, body: 'down' };
  const before = fetches;
  assert.equal(await status(jwt(ecKey, { kid: 'not-there' })), 401);
  assert.equal(fetches, before + 1);
  await gw.waitLog(/jwks_refresh_failed .*error="HTTP status 500" keys_kept=2/);
  assert.equal(await status(jwt(ecKey)), 101);

  await sleep(1100);
  published = { status: 200, body: '{"keys": "not a list"}' };
  assert.equal(await status(jwt(ecKey, { kid: 'still-not-there' })), 401);
  await gw.waitLog(/jwks_refresh_failed .*JWKS must be an object/);
  assert.equal(await status(jwt(ecKey)), 101);

  // A trailer field over 64 KiB made Beast's parser throw, and the gateway aborted.
  await sleep(1100);
  published = { status: 200, body: JSON.stringify({ keys: [rsaKey.jwk] }), trailer: 'b'.repeat(70000) };
  assert.equal(await status(jwt(ecKey, { kid: 'behind-a-trailer' })), 401);
  await gw.waitLog(/jwks_refresh_failed .*trailer field too large/);
  assert.equal(await status(jwt(ecKey)), 101);
});

// A key the provider removed must stop verifying when the operator reloads, not up to
// refresh_interval (an hour here) later, as keys from files do.
test('SIGHUP fetches every JWKS URL at once: a key removed at the provider stops verifying', async () => {
  await sleep(1100);
  published = { status: 200, body: JSON.stringify({ keys: [rsaKey.jwk] }) };  // ec-2 withdrawn
  assert.equal(await status(jwt(ecKey)), 101, 'still trusted: nothing told wsgate yet');
  const updates = () => gw.logs.filter((l) => /jwks_updated /.test(l)).length;
  const before = updates();
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/jwks_refresh_requested .*reason=reload/);
  for (let i = 0; i < 100 && updates() === before; i++) await sleep(20);
  assert.equal(updates(), before + 1, 'one fetch, answered');
  assert.equal(await status(jwt(ecKey)), 401);
  assert.equal(await status(jwt(rsaKey)), 101);
});
