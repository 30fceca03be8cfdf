// The admin listener's runtime API through the real binary, against live sessions on three real
// workers: routes, backends, sessions (listed, filtered, ended by id), drain / disable / enable of a
// backend (kept across SIGHUP), the effective configuration with its secrets left out, the log
// level, and the bearer token when admin.token_file is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir, startBackend, startGateway, open, connect, routeYaml, sleep } from './lib.mjs';

let workers = [], dir, tokenFile, secretFile, token;

before(async () => {
  for (const name of ['a1', 'a2', 'a3']) workers.push(await startBackend(name));
  dir = tempDir();
  token = randomBytes(24).toString('hex');
  tokenFile = path.join(dir, 'admin.token');
  writeFileSync(tokenFile, `${token}\n`);
  secretFile = path.join(dir, 'affinity.key');
  writeFileSync(secretFile, 'S'.repeat(40));
});
after(async () => { for (const w of workers) await w.kill(); });

function yaml({ admin = '{ bind: "127.0.0.1:0" }', backends = workers } = {}) {
  return routeYaml(`
  - name: pinned
    match: { path_prefix: / }
    hash_key: [ "header:X-Key" ]
    affinity_cookie: { name: aff, secret_file: ${secretFile} }
    health_check: { path: /healthz, interval: 500ms }
    backends: [ ${backends.map((w) => `"${w.url}"`).join(', ')} ]`).replace('admin: { bind: "127.0.0.1:0" }', `admin: ${admin}`);
}

async function call(gw, method, pathname, { body, auth } = {}) {
  const headers = auth ? { authorization: auth } : {};
  const res = await fetch(`http://127.0.0.1:${gw.ports.admin}${pathname}`, { method, body, headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

async function session(gw, key) {
  const ws = await open(gw.url('public', '/'), { headers: { 'x-key': key } });
  ws.send('whoami');
  return { ws, worker: (await ws.next()).data.toString() };
}

test('routes, backends, sessions and their counts; a session ended by id with a chosen code', async () => {
  const gw = await startGateway(yaml());
  try {
    const routes = (await call(gw, 'GET', '/api/routes')).json;
    assert.equal(routes.length, 1);
    assert.deepEqual(routes[0].match, { host: '', path_prefix: '/', prefix_match: 'segment' });
    assert.deepEqual(routes[0].backends.map((b) => b.url), workers.map((w) => w.url));
    assert.deepEqual(routes[0].hash_key, ['header:X-Key']);
    assert.equal(routes[0].affinity_cookie, 'aff');

    const s = [];
    for (let i = 0; i < 6; i++) s.push(await session(gw, `k${i}`));
    s[0].ws.send('x'.repeat(100));
    await s[0].ws.next();
    const list = (await call(gw, 'GET', '/api/sessions')).json;
    assert.equal(list.sessions.length, 6, JSON.stringify(list));
    assert.equal(list.truncated, false);
    const byWorker = (name) => workers.find((w) => w.name === name).url;
    const first = list.sessions.find((x) => x.messages_in === 2);
    assert.ok(first, 'the session that sent two messages is there');
    assert.equal(first.backend, byWorker(s[0].worker));
    assert.equal(first.bytes_in > 100, true, 'its bytes are counted');
    assert.equal(first.client, '127.0.0.1');
    assert.match(first.key_hash, /^[0-9a-f]{16}$/);
    assert.ok(!JSON.stringify(list).includes('k0'), 'the key itself is never shown');

    assert.equal((await call(gw, 'GET', '/api/sessions?limit=2')).json.sessions.length, 2);
    assert.equal((await call(gw, 'GET', '/api/sessions?limit=2')).json.truncated, true);
    const backends = (await call(gw, 'GET', '/api/backends')).json;
    const target = backends.find((b) => b.url === first.backend);
    const onTarget = (await call(gw, 'GET', `/api/sessions?backend=${target.id}`)).json.sessions;
    assert.ok(onTarget.length >= 1 && onTarget.every((x) => x.backend === first.backend), 'filtered by backend id');
    assert.equal(target.sessions, onTarget.length, '/api/backends counts the same sessions');
    assert.equal((await call(gw, 'GET', '/api/sessions?route=nope')).json.sessions.length, 0);

    assert.equal((await call(gw, 'DELETE', `/api/sessions/${first.id}?code=4001`)).status, 200);
    const closed = await s[0].ws.closed;
    assert.equal(closed.code, 4001);
    assert.equal(closed.reason, 'closed by the operator');
    await gw.waitLog(/ admin_action client=127\.0\.0\.1 action=end-session /);
    const second = list.sessions.find((x) => x.id !== first.id);
    assert.equal((await call(gw, 'DELETE', `/api/sessions/${second.id}`)).status, 200);
    const closedAs = await Promise.race(s.slice(1).map((x) => x.ws.closed));
    assert.equal(closedAs.code, 1008, 'default code 1008');
    assert.equal((await call(gw, 'DELETE', '/api/sessions/0-999999')).status, 404);
    assert.equal((await call(gw, 'DELETE', `/api/sessions/${second.id}?code=1006`)).status, 400, '1006 is never sent');
    for (const x of s) x.ws.close();
  } finally {
    await gw.stop();
  }
});

test('drain keeps live sessions and takes no new ones; disable ends them with 1012; kept across SIGHUP; enable', async () => {
  const gw = await startGateway(yaml());
  try {
    const live = [];
    for (let i = 0; i < 12; i++) live.push(await session(gw, `user-${i}`));
    const victimName = live[0].worker;
    const victim = (await call(gw, 'GET', '/api/backends')).json.find((b) => b.url === workers.find((w) => w.name === victimName).url);
    const drained = await call(gw, 'POST', `/api/backends/${victim.id}/drain`);
    assert.equal(drained.status, 200);
    assert.equal(drained.json.mode, 'draining');
    await gw.waitLog(new RegExp(`admin_action client=127\\.0\\.0\\.1 action=drain backend=${victim.url.replace(/[./]/g, '\\$&')}`));
    // Live sessions on it go on.
    const onVictim = live.filter((x) => x.worker === victimName);
    for (const x of onVictim) {
      x.ws.send('whoami');
      assert.equal((await x.ws.next()).data.toString(), victimName, 'a live session stays');
    }
    // New ones, whatever their key (those at home there too), go elsewhere.
    for (let i = 0; i < 24; i++) {
      const { ws, worker } = await session(gw, `user-${i}`);
      assert.notEqual(worker, victimName, `user-${i} not sent to a draining backend`);
      ws.close();
    }
    // A reload that keeps the backend keeps its state.
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/ config_reloaded /);
    assert.equal((await call(gw, 'GET', '/api/backends')).json.find((b) => b.id === victim.id).mode, 'draining');
    // Disable: its live sessions get 1012.
    assert.equal((await call(gw, 'POST', `/api/backends/${victim.id}/disable`)).json.mode, 'disabled');
    for (const x of onVictim) assert.equal((await x.ws.closed).code, 1012);
    for (const x of live.filter((y) => y.worker !== victimName)) {
      x.ws.send('whoami');
      assert.equal((await x.ws.next()).data.toString(), x.worker, 'the others are untouched');
    }
    // Enable: it takes new sessions again.
    assert.equal((await call(gw, 'POST', `/api/backends/${victim.id}/enable`)).json.mode, 'enabled');
    const seen = new Set();
    for (let i = 0; i < 24; i++) {
      const { ws, worker } = await session(gw, `user-${i}`);
      seen.add(worker);
      ws.close();
    }
    assert.ok(seen.has(victimName), 'back in service');
    assert.equal((await call(gw, 'POST', '/api/backends/ffffffffffff/drain')).status, 404);
    assert.equal((await call(gw, 'POST', `/api/backends/${victim.id}/explode`)).status, 404);
    assert.equal((await call(gw, 'GET', `/api/backends/${victim.id}/drain`)).status, 405);
    for (const x of live) x.ws.close();
  } finally {
    await gw.stop();
  }
});

test('config without secrets, the log level at run time, the history', async () => {
  const gw = await startGateway(yaml());
  try {
    const config = await call(gw, 'GET', '/api/config');
    assert.equal(config.status, 200);
    assert.equal(config.json.routes[0].affinity_cookie.secret_file, secretFile);
    assert.ok(!config.text.includes('SSSS'), 'the signing key is never shown');
    assert.equal(config.json.drain.timeout_ms, 5000);
    assert.equal((await call(gw, 'PUT', '/api/log-level', { body: 'loud' })).status, 400);
    assert.deepEqual((await call(gw, 'PUT', '/api/log-level', { body: '{"level":"warn"}' })).json, { level: 'warn' });
    const quiet = await session(gw, 'quiet');
    quiet.ws.close();
    await quiet.ws.closed;
    await sleep(200);
    assert.ok(!gw.logs.some((l) => / session_open /.test(l)), 'at warn, no info line');
    assert.deepEqual((await call(gw, 'PUT', '/api/log-level', { body: 'info\n' })).json, { level: 'info' });
    const loud = await session(gw, 'loud');
    loud.ws.close();
    await gw.waitLog(/ session_open route=pinned /);
    const history = (await call(gw, 'GET', '/api/history')).json;
    assert.equal(history.interval_s, 2);
    assert.ok(Array.isArray(history.samples));
    assert.equal((await call(gw, 'GET', '/api/nothing')).status, 404);
  } finally {
    await gw.stop();
  }
});

test('with admin.token_file every call but /healthz and /readyz needs the bearer token', async () => {
  const gw = await startGateway(yaml({ admin: `{ bind: "127.0.0.1:0", token_file: ${tokenFile} }` }));
  try {
    assert.equal((await call(gw, 'GET', '/healthz')).status, 200);
    assert.equal((await call(gw, 'GET', '/readyz')).status, 200);
    for (const p of ['/api/routes', '/api/backends', '/metrics', '/api/config']) {
      const none = await call(gw, 'GET', p);
      assert.equal(none.status, 401, `${p} without a token`);
      assert.equal((await call(gw, 'GET', p, { auth: `Bearer ${token.slice(0, -1)}x` })).status, 401, `${p} with a wrong token`);
      assert.equal((await call(gw, 'GET', p, { auth: `Bearer ${token}` })).status, 200, `${p} with the token`);
    }
    const b = (await call(gw, 'GET', '/api/backends', { auth: `Bearer ${token}` })).json[0];
    assert.equal((await call(gw, 'POST', `/api/backends/${b.id}/drain`)).status, 401, 'no action without it');
    assert.equal((await call(gw, 'GET', '/api/backends', { auth: `Bearer ${token}` })).json[0].mode, 'enabled');
    await gw.waitLog(/ admin_unauthorized client=127\.0\.0\.1 method=POST /);
    assert.ok(!gw.logs.some((l) => l.includes(token)), 'the token is never logged');
    assert.equal((await call(gw, 'GET', '/')).status, 200, 'the page itself holds no data');
  } finally {
    await gw.stop();
  }
});

test('admin.enabled: false opens no admin listener', async () => {
  const gw = await startGateway(yaml({ admin: '{ enabled: false }' }));
  try {
    assert.equal(gw.ports.admin, undefined);
    const { ws, worker } = await session(gw, 'x');
    assert.ok(worker);
    ws.close();
  } finally {
    await gw.stop();
  }
});
