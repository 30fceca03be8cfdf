// JWT authentication through the real binary: each token source, the 401/403 answers, claims
// forwarded (and forged copies removed), the query token stripped, the bearer subprotocol, and a
// session closed when its token expires. Tokens are minted with `wsgate token`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wsgateBin, tempDir, startBackend, startGateway, open, connect, routeYaml } from './lib.mjs';

let dir, secretFile, otherSecretFile, backend, gw;
const siteOrigin = 'https://chat.example';  // the routes' own site: its pages may open sessions

function token(args = [], secret = secretFile) {
  return execFileSync(wsgateBin, ['token', '--secret-file', secret, '--sub', 'alice', '--iss', 'wsgate-dev',
                                  '--aud', 'wsgate', ...args], { encoding: 'utf8' }).trim();
}

async function backendView(ws) {
  ws.send('headers');
  return JSON.parse((await ws.next()).data.toString());
}

before(async () => {
  dir = tempDir();
  secretFile = path.join(dir, 'dev.secret');
  otherSecretFile = path.join(dir, 'other.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64') + '\n');
  writeFileSync(otherSecretFile, randomBytes(48).toString('base64'));
  backend = await startBackend('w1');
  gw = await startGateway(routeYaml(`
  - { name: secure, match: { path_prefix: /secure }, auth: dev, allowed_origins: [ "${siteOrigin}" ], backends: [ "${backend.url}" ] }
  - name: scoped
    match: { path_prefix: /scoped }
    auth: dev
    allowed_origins: [ "${siteOrigin}" ]
    require_claims: [ { claim: scope, contains: chat } ]
    backends: [ "${backend.url}" ]
  - { name: expiring, match: { path_prefix: /expiring }, auth: dev, close_at_expiry: true, allowed_origins: [ "${siteOrigin}" ],
      backends: [ "${backend.url}" ] }
  - { name: open, match: { path_prefix: /open }, backends: [ "${backend.url}" ] }`, { extra: `auth:
  providers:
    - name: dev
      issuer: wsgate-dev
      audiences: [ wsgate ]
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]
      token_from: [ "header:Authorization", "query:access_token", "cookie:access_token", "protocol" ]
      leeway: 0s
      forward_claims: { sub: X-User-Id }` }), { dir });
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

function rejected(url, options) {
  const ws = connect(url, options);
  return ws.opened.then(() => { ws.close(); throw new Error('upgrade was accepted'); }, (err) => err);
}

test('no token: 401 with a Bearer challenge', async () => {
  const err = await rejected(gw.url('public', '/secure'));
  assert.equal(err.status, 401);
  assert.equal(err.headers['www-authenticate'],
               'Bearer realm="wsgate", error="invalid_token", error_description="missing token"');
  await gw.waitLog(/request_rejected status=401 route=secure .*reason="missing token"/);
  assert.ok(!gw.logs.some((l) => l.includes('eyJ')), 'no token in the logs');
});

test('Authorization: Bearer, with the claim forwarded and a forged X-User-Id replaced', async () => {
  const ws = await open(gw.url('public', '/secure'),
                        { headers: { authorization: `Bearer ${token()}`, 'x-user-id': 'mallory' } });
  const seen = await backendView(ws);
  assert.equal(seen.headers['x-user-id'], 'alice');
  ws.close();
});

test('a query token is taken out of the URL the backend sees', async () => {
  const ws = await open(gw.url('public', `/secure/room?x=1&access_token=${token()}&y=2`));
  const seen = await backendView(ws);
  assert.equal(seen.url, '/secure/room?x=1&y=2');
  assert.equal(seen.headers['x-user-id'], 'alice');
  ws.close();
});

test('a cookie token', async () => {
  const ws = await open(gw.url('public', '/secure'), { headers: { cookie: `theme=dark; access_token=${token()}` } });
  assert.equal((await backendView(ws)).headers['x-user-id'], 'alice');
  ws.close();
});

// Cross-site WebSocket hijacking: a page on another site opens the socket, and the browser adds
// the visitor's cookie. The route's Origin allowlist refuses it before the token is looked at.
test('a cookie token from a page on another site is refused with 403, from the site itself accepted', async () => {
  const cookie = `access_token=${token()}`;
  const foreign = connect(gw.url('public', '/secure'), { headers: { cookie, origin: 'https://evil.example' } });
  await assert.rejects(foreign.opened, (err) => err.status === 403);
  const lookalike = connect(gw.url('public', '/secure'), { headers: { cookie, origin: `${siteOrigin}.evil.example` } });
  await assert.rejects(lookalike.opened, (err) => err.status === 403);
  const own = await open(gw.url('public', '/secure'), { headers: { cookie, origin: siteOrigin } });
  assert.equal((await backendView(own)).headers['x-user-id'], 'alice');
  own.close();
  assert.ok(gw.logs.some((l) => /origin not allowed/.test(l)), 'the refusal is logged');
});

test('the browser subprotocol trick: bearer, TOKEN', async () => {
  const alone = await open(gw.url('public', '/secure'), { protocols: ['bearer', token()] });
  assert.equal(alone.protocol, 'bearer', 'the client sees one of its offers chosen');
  assert.equal((await backendView(alone)).headers['sec-websocket-protocol'], undefined);
  alone.close();
  const withApp = await open(gw.url('public', '/secure'), { protocols: ['bearer', token(), 'chat.v1'] });
  assert.equal(withApp.protocol, 'chat.v1');
  assert.equal((await backendView(withApp)).headers['sec-websocket-protocol'], 'chat.v1');
  withApp.close();
});

test('bad tokens: 401 with the reason', async () => {
  const cases = [
    [token([], otherSecretFile), 'bad signature'],
    [token(['--ttl', '0s']), 'token expired'],
    [((t) => { const i = t.length - 10; return t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1); })(token()),
     'bad signature'],
    [token().slice(0, -3), 'bad signature'],    // 40 characters: canonical base64url, wrong length
    [`${token().slice(0, -1)}!`, 'malformed token'],  // not base64url
    ['not.a.token', 'malformed token'],
    [execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', 'a', '--iss', 'someone-else', '--aud', 'wsgate'],
                  { encoding: 'utf8' }).trim(), 'wrong issuer'],
  ];
  for (const [t, reason] of cases) {
    const err = await rejected(gw.url('public', '/secure'), { headers: { authorization: `Bearer ${t}` } });
    assert.equal(err.status, 401, reason);
    assert.equal(err.headers['www-authenticate'],
                 `Bearer realm="wsgate", error="invalid_token", error_description="${reason}"`);
  }
});

test('a required claim that fails: 403 insufficient_scope', async () => {
  const err = await rejected(gw.url('public', '/scoped'),
                             { headers: { authorization: `Bearer ${token(['--claim', 'scope=read'])}` } });
  assert.equal(err.status, 403);
  assert.equal(err.headers['www-authenticate'],
               'Bearer realm="wsgate", error="insufficient_scope", error_description="required claim mismatch"');
  const ok = await open(gw.url('public', '/scoped'),
                        { headers: { authorization: `Bearer ${token(['--claim', 'scope=read chat'])}` } });
  ok.close();
});

test('a route without auth passes without a token', async () => {
  const ws = await open(gw.url('public', '/open'));
  ws.close();
});

test('a live session is closed with 1008 when its token expires', async () => {
  const ws = await open(gw.url('public', '/expiring'),
                        { headers: { authorization: `Bearer ${token(['--ttl', '2s'])}` } });
  ws.send('still valid');
  assert.equal((await ws.next()).data.toString(), 'still valid');
  const closed = await ws.closed;
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'token expired');
});

test('keys rotate by kid on SIGHUP, from a JWKS file, without a restart', async () => {
  const rdir = tempDir();
  const secrets = [1, 2].map((i) => {
    const file = path.join(rdir, `s${i}.secret`);
    writeFileSync(file, randomBytes(48).toString('base64'));
    return file;
  });
  const jwks = path.join(rdir, 'keys.json');
  const jwk = (kid, file) => ({ kty: 'oct', kid, k: Buffer.from(readFileSync(file, 'utf8')).toString('base64url') });
  writeFileSync(jwks, JSON.stringify({ keys: [jwk('k1', secrets[0])] }));
  const rotated = await startGateway(routeYaml(`
  - { name: secure, match: { path_prefix: / }, auth: rot, backends: [ "${backend.url}" ] }`, { extra: `auth:
  providers:
    - { name: rot, issuer: wsgate-dev, audiences: [ wsgate ], algorithms: [ HS256 ], keys: [ { jwks_file: ${jwks} } ] }` }), { dir: rdir });
  const withKid = (kid, secret) => execFileSync(wsgateBin, ['token', '--secret-file', secret, '--kid', kid, '--sub', 'a',
                                                             '--iss', 'wsgate-dev', '--aud', 'wsgate'], { encoding: 'utf8' }).trim();
  try {
    const before = await open(rotated.url(), { headers: { authorization: `Bearer ${withKid('k1', secrets[0])}` } });
    writeFileSync(jwks, JSON.stringify({ keys: [jwk('k2', secrets[1])] }));
    rotated.proc.kill('SIGHUP');
    await rotated.waitLog(/config_reloaded/);
    const after = await open(rotated.url(), { headers: { authorization: `Bearer ${withKid('k2', secrets[1])}` } });
    const old = await rejected(rotated.url(), { headers: { authorization: `Bearer ${withKid('k1', secrets[0])}` } });
    assert.equal(old.status, 401);
    assert.match(old.headers['www-authenticate'], /error_description="unknown key"/);
    before.send('whoami');
    assert.equal((await before.next()).data.toString(), 'w1', 'a session from before the rotation lives on');
    before.close();
    after.close();
  } finally {
    await rotated.stop();
  }
});
