// Stickiness under bounded loads through the real binary: Socket.IO clients (polling, then the
// upgrade) on two workers with balance_factor 1.25 and affinity each reach one worker only; the
// signed affinity cookie is honoured by a second gateway on the same file and ignored when forged;
// 100 concurrent upgrades of one hot key over five slow-101 backends respect the bound; a killed
// worker is back as soon as its health checks pass, not after passive_eject_time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { tempDir, startBackend, startGateway, open, routeYaml, sleep, socketIoConnected } from './lib.mjs';

const cleanup = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function get(gw, pathname, headers = {}) {
  const res = await fetch(`http://127.0.0.1:${gw.ports.public}${pathname}`, { headers });
  const body = await res.json();
  return { backend: res.headers.get('x-backend'), setCookie: res.headers.get('set-cookie'), body };
}

test('Socket.IO on two workers with balance_factor 1.25 and affinity: every client upgrades, each on one worker', async () => {
  const servers = [];
  const seen = new Map();  // uid -> names of the processes any of its requests reached
  const note = (name, req) => {
    const url = new URL(req.url, 'http://x');
    const uid = url.searchParams.get('uid') ?? /(?:^|; )uid=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
    if (!uid) return;
    if (!seen.has(uid)) seen.set(uid, new Set());
    seen.get(uid).add(name);
  };
  for (const name of ['io-a', 'io-b']) {
    const httpServer = http.createServer();
    httpServer.prependListener('request', (req) => note(name, req));
    httpServer.prependListener('upgrade', (req) => note(name, req));
    const ioServer = new Server(httpServer);
    ioServer.on('connection', (socket) => socket.on('where', (ack) => ack(name)));
    const port = await new Promise((r) => httpServer.listen(0, '127.0.0.1', () => r(httpServer.address().port)));
    servers.push({ name, port, httpServer, ioServer });
  }
  cleanup.push(() => { for (const s of servers) { s.ioServer.close(); s.httpServer.close(); } });
  const gw = await startGateway(routeYaml(`
  - name: socketio
    match: { path_prefix: /socket.io/ }
    hash_key: [ "query:uid", "cookie:uid" ]
    balance_factor: 1.25
    affinity_ttl: 1m
    backends: [ ${servers.map((s) => `"ws://127.0.0.1:${s.port}"`).join(', ')} ]`));
  cleanup.push(() => gw.stop());
  const clients = [];
  try {
    // All twenty at once, with default transports: their polling requests interleave, which is
    // when the bound alone would send some of one client's requests to the other process.
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const uid = `user-${i}`;
      const byCookie = i % 2 === 1;
      const client = connectClient(`http://127.0.0.1:${gw.ports.public}`, {
        reconnection: false,
        ...(byCookie ? { extraHeaders: { cookie: `uid=${uid}` } } : { query: { uid } }),
      });
      clients.push(client);
      await socketIoConnected(client);
      const where = await client.timeout(10000).emitWithAck('where');
      await new Promise((resolve, reject) => {
        if (client.io.engine.transport.name === 'websocket') return resolve();
        const timer = setTimeout(() => reject(new Error(`${uid} never upgraded`)), 15000);
        client.io.engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
      });
      const after = await client.timeout(10000).emitWithAck('where');
      return { uid, where, after, transport: client.io.engine.transport.name };
    }));
    for (const r of results) {
      assert.equal(r.transport, 'websocket', `${r.uid} upgraded`);
      assert.equal(r.after, r.where, `${r.uid}: the same process after the upgrade`);
      assert.deepEqual([...seen.get(r.uid)], [r.where], `${r.uid}: every request reached ${r.where} only`);
    }
    assert.equal(new Set(results.map((r) => r.where)).size, 2, 'the clients spread over both processes');
  } finally {
    for (const c of clients) c.close();
  }
});

test('the affinity cookie: set once, honoured by a second gateway, stripped for the backend, ignored when forged', async () => {
  const dir = tempDir();
  const secretFile = path.join(dir, 'affinity.key');
  writeFileSync(secretFile, randomBytes(32).toString('hex'));
  const workers = [];
  for (const name of ['c1', 'c2', 'c3']) workers.push(await startBackend(name));
  cleanup.push(async () => { for (const w of workers) await w.kill(); });
  // No key is ever sent: without the cookie, clients are spread, not pinned.
  const yaml = routeYaml(`
  - name: sticky
    match: { path_prefix: / }
    hash_key: [ "header:X-Never-Sent" ]
    affinity_cookie: { name: wsg_aff, ttl: 10m, secret_file: ${secretFile} }
    backends: [ ${workers.map((w) => `"${w.url}"`).join(', ')} ]`);
  const gw1 = await startGateway(yaml);
  const gw2 = await startGateway(yaml);
  cleanup.push(() => gw1.stop(), () => gw2.stop());

  const fresh = [];
  for (let i = 0; i < 12; i++) fresh.push(await get(gw1, '/describe'));
  assert.ok(new Set(fresh.map((r) => r.backend)).size >= 2, 'without the cookie requests spread');
  const { backend: home, setCookie } = fresh[0];
  assert.match(setCookie, /^wsg_aff=[0-9a-f]{16}\.\d+\.[0-9a-f]{32}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
  const value = /^wsg_aff=([^;]+)/.exec(setCookie)[1];
  for (const w of workers) assert.ok(!value.includes(String(w.port)), 'the value names no address');

  for (let i = 0; i < 10; i++) {
    const r = await get(i % 2 ? gw2 : gw1, '/describe', { cookie: `theme=dark; wsg_aff=${value}` });
    assert.equal(r.backend, home, `request ${i} follows the cookie (gateway ${i % 2 ? 2 : 1})`);
    assert.equal(r.setCookie, null, 'a valid cookie is not set again');
    assert.equal(r.body.headers.cookie, 'theme=dark', 'the backend never sees the gateway\'s cookie');
  }
  const ws = await open(gw2.url('public', '/chat'), { headers: { cookie: `wsg_aff=${value}` } });
  ws.send('whoami');
  assert.equal((await ws.next()).data.toString(), home, 'a WebSocket session follows it too');
  ws.close();

  // Forged: another backend's id under the old signature; the cookie is ignored and replaced.
  const forged = (value[0] === '0' ? '1' : '0') + value.slice(1);
  const forgedAnswers = [];
  for (let i = 0; i < 12; i++) forgedAnswers.push(await get(gw2, '/describe', { cookie: `wsg_aff=${forged}` }));
  assert.ok(new Set(forgedAnswers.map((r) => r.backend)).size >= 2, 'a forged cookie pins nobody');
  assert.ok(forgedAnswers.every((r) => /^wsg_aff=/.test(r.setCookie ?? '')), 'each gets a genuine one instead');
});

test('100 concurrent upgrades of one hot key over five slow-101 backends: none above ceil(1.25 x 100 / 5)', async () => {
  const slow = [];
  for (let i = 0; i < 5; i++) slow.push(await startBackend(`s${i}`, { upgradeDelay: 300 }));
  cleanup.push(async () => { for (const w of slow) await w.kill(); });
  const gw = await startGateway(routeYaml(`
  - name: hot
    match: { path_prefix: / }
    hash_key: [ "header:X-Key" ]
    balance_factor: 1.25
    backends: [ ${slow.map((w) => `"${w.url}"`).join(', ')} ]`));
  cleanup.push(() => gw.stop());
  const sessions = await Promise.all(Array.from({ length: 100 }, () =>
    open(gw.url('public', '/'), { headers: { 'x-key': 'hot' } })));
  const count = {};
  for (const ws of sessions) {
    ws.send('whoami');
    const name = (await ws.next()).data.toString();
    count[name] = (count[name] ?? 0) + 1;
  }
  for (const ws of sessions) ws.close();
  const loads = Object.values(count);
  assert.equal(loads.reduce((a, b) => a + b, 0), 100, 'every upgrade got through');
  assert.ok(Math.max(...loads) <= 25, `per backend ${JSON.stringify(count)}: the bound is 25`);
});

test('a killed worker is back once its checks pass, long before passive_eject_time', async () => {
  const pair = [await startBackend('r1'), await startBackend('r2')];
  cleanup.push(async () => { for (const w of pair) await w.kill(); });
  const interval = 500, rise = 2;
  const gw = await startGateway(routeYaml(`
  - name: returning
    match: { path_prefix: / }
    hash_key: [ "header:X-Key" ]
    passive_eject_time: 60s
    health_check: { path: /healthz, interval: ${interval}ms, timeout: 2s, healthy_threshold: ${rise}, unhealthy_threshold: 1 }
    backends: [ "${pair[0].url}", "${pair[1].url}" ]`));
  cleanup.push(() => gw.stop());
  let key;
  for (let i = 0; i < 64 && !key; i++)
    if ((await get(gw, '/describe', { 'x-key': `k${i}` })).backend === 'r1') key = `k${i}`;
  assert.ok(key, 'some key lives on r1');
  const port = pair[0].port;
  // Kill r1 right after a check of it passed: the next is an interval away, so the request below
  // meets the refused connect (a check in flight at the kill would take r1 out first, and then no
  // connect to it is ever tried: this test failed so once).
  const passed = () => gw.metric(`wsgate_health_checks_total{backend="ws://127.0.0.1:${port}",result="ok"}`);
  const before = await passed();
  while ((await passed()) === before) await sleep(10);
  await pair[0].kill();
  assert.equal((await get(gw, '/describe', { 'x-key': key })).backend, 'r2', 'a refused connect fails over');
  assert.ok(await gw.metric(`wsgate_backend_ejections_total{backend="ws://127.0.0.1:${port}",cause="connect_failure"}`) >= 1,
            'passively ejected (for up to 60 s)');
  await gw.waitLog(new RegExp(`backend_unhealthy backend=ws://127.0.0.1:${port}`));
  pair[0] = await startBackend('r1', { port });
  const restarted = Date.now();
  let where;
  do {
    await sleep(50);
    where = (await get(gw, '/describe', { 'x-key': key })).backend;
  } while (where !== 'r1' && Date.now() - restarted < 10000);
  const back = Date.now() - restarted;
  assert.equal(where, 'r1', 'back home');
  // interval x healthy_threshold, plus one interval for the first check to come round, plus 500 ms
  // for a busy machine.
  assert.ok(back <= interval * rise + interval + 500, `back after ${back} ms`);
});
