// Consistent-hash pinning through the real binary with three real workers: the same `sub` always
// reaches the same worker, a killed worker's clients (and only they) get 1012 and land elsewhere,
// its return is noticed by the health check and its clients come home, a reload that removes a
// backend moves only that backend's sessions, two gateways on one file agree, and Socket.IO
// clients (polling first) stay on one of two Socket.IO processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { wsgateBin, tempDir, startBackend, startGateway, open, routeYaml, sleep, socketIoConnected } from './lib.mjs';

let dir, secretFile;
const workers = [];
// 36 users: the workers' ports (and so their places on the ring) change every run, and with 36 the
// chance that one of three workers gets none is 3 x (2/3)^36, about 1 in 700,000 (12 failed 1 in 40).
const subs = Array.from({ length: 36 }, (_, i) => `user-${i}`);
const tokens = {};

function config(backendList = workers, check = 'http', path = '/healthz') {
  return routeYaml(`
  - name: pinned
    match: { path_prefix: / }
    auth: dev
    hash_key: [ "claim:sub", "ip" ]
    health_check: { type: ${check}, path: ${path}, interval: 200ms, timeout: 5s, healthy_threshold: 1, unhealthy_threshold: 1 }
    backends: [ ${backendList.map((w) => `"${w.url}"`).join(', ')} ]`, { extra: `auth:
  providers:
    - name: dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]` });
}

async function whoami(gw, sub) {
  const ws = await open(gw.url('public', '/'), { headers: { authorization: `Bearer ${tokens[sub]}` } });
  ws.send('whoami');
  const worker = (await ws.next()).data.toString();
  return { ws, worker };
}

async function homes(gw) {
  const out = {};
  for (const sub of subs) {
    const { ws, worker } = await whoami(gw, sub);
    out[sub] = worker;
    ws.close();
  }
  return out;
}

before(async () => {
  dir = tempDir();
  secretFile = path.join(dir, 'dev.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64'));
  for (const sub of subs)
    tokens[sub] = execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', sub],
                               { encoding: 'utf8' }).trim();
  for (const name of ['w1', 'w2', 'w3']) workers.push(await startBackend(name));
});

after(async () => {
  for (const w of workers) await w.kill();
});

test('the same sub always reaches the same worker, and two gateways on one file agree', async () => {
  const gw1 = await startGateway(config());
  const gw2 = await startGateway(config());
  try {
    const first = await homes(gw1);
    assert.deepEqual(await homes(gw1), first, 'again on the same gateway');
    assert.deepEqual(await homes(gw2), first, 'on a second gateway process');
    assert.equal(new Set(Object.values(first)).size, 3, 'the users spread over the three workers');
  } finally {
    await gw1.stop();
    await gw2.stop();
  }
});

test('a killed worker: only its clients get 1012 and move; they come home when it is back', async () => {
  const gw = await startGateway(config());
  try {
    const home = await homes(gw);
    const sessions = {};
    for (const sub of subs) sessions[sub] = (await whoami(gw, sub)).ws;
    const victimName = home[subs[0]];
    const victim = workers.findIndex((w) => w.name === victimName);
    const port = workers[victim].port;
    await workers[victim].kill('SIGKILL');

    for (const sub of subs) {
      if (home[sub] === victimName) {
        const closed = await sessions[sub].closed;
        assert.equal(closed.code, 1012, `${sub} told to reconnect`);
      } else {
        sessions[sub].send('whoami');
        assert.equal((await sessions[sub].next()).data.toString(), home[sub], `${sub} untouched`);
      }
    }
    await gw.waitLog(new RegExp(`backend_unhealthy backend=ws://127.0.0.1:${port}`));
    const moved = await homes(gw);
    for (const sub of subs) {
      if (home[sub] === victimName) assert.notEqual(moved[sub], victimName, `${sub} lands elsewhere`);
      else assert.equal(moved[sub], home[sub], `${sub} stays`);
    }

    workers[victim] = await startBackend(victimName, { port });
    await gw.waitLog(new RegExp(`backend_healthy backend=ws://127.0.0.1:${port}`));
    assert.deepEqual(await homes(gw), home, 'every client back at its home');
    for (const sub of subs) sessions[sub].close();
  } finally {
    await gw.stop();
  }
});

test('SIGHUP removing a backend moves its sessions with 1012 and leaves the others alone', async () => {
  // WebSocket health checks this time: the upgrade on /probe must be answered 101 to pass.
  const gw = await startGateway(config(workers, 'websocket', '/probe'));
  try {
    await sleep(600);  // three rounds of checks: a failing probe would have taken backends out
    assert.ok(!gw.logs.some((l) => l.includes('backend_unhealthy')), 'websocket probes pass');
    const home = await homes(gw);
    const sessions = {};
    for (const sub of subs) sessions[sub] = (await whoami(gw, sub)).ws;
    const removed = workers[1];
    gw.writeConfig(config([workers[0], workers[2]], 'websocket', '/probe'));
    gw.proc.kill('SIGHUP');
    await gw.waitLog(new RegExp(`backend_removed backend=ws://127.0.0.1:${removed.port}`));
    for (const sub of subs) {
      if (home[sub] === removed.name) {
        assert.equal((await sessions[sub].closed).code, 1012);
      } else {
        sessions[sub].send('whoami');
        assert.equal((await sessions[sub].next()).data.toString(), home[sub]);
        sessions[sub].close();
      }
    }
    const after = await homes(gw);
    for (const sub of subs)
      if (home[sub] !== removed.name) assert.equal(after[sub], home[sub], `${sub} unchanged by the reload`);
  } finally {
    await gw.stop();
  }
});

test('Socket.IO clients, polling first, each stay on one of two Socket.IO processes', async () => {
  const servers = [];
  for (const name of ['io-a', 'io-b']) {
    const httpServer = http.createServer();
    const ioServer = new Server(httpServer);
    ioServer.on('connection', (socket) => socket.on('where', (ack) => ack(name)));
    const port = await new Promise((r) => httpServer.listen(0, '127.0.0.1', () => r(httpServer.address().port)));
    servers.push({ name, port, httpServer, ioServer });
  }
  const gw = await startGateway(routeYaml(`
  - name: socketio
    match: { path_prefix: /socket.io/ }
    hash_key: [ "header:X-Client-Id", "ip" ]
    backends: [ ${servers.map((s) => `"ws://127.0.0.1:${s.port}"`).join(', ')} ]`));
  const clients = [];
  try {
    const seen = new Set();
    for (let i = 0; i < 8; i++) {
      // Without pinning, a polling request would reach the process that does not know the sid.
      const client = connectClient(`http://127.0.0.1:${gw.ports.public}`,
                                   { reconnection: false, extraHeaders: { 'x-client-id': `client-${i}` } });
      clients.push(client);
      await socketIoConnected(client);
      const where = await client.timeout(10000).emitWithAck('where');
      await new Promise((resolve) => {
        if (client.io.engine.transport.name === 'websocket') resolve();
        client.io.engine.once('upgrade', resolve);
      });
      assert.equal(await client.timeout(10000).emitWithAck('where'), where, 'the same process after the upgrade');
      seen.add(where);
    }
    assert.deepEqual([...seen].sort(), ['io-a', 'io-b'], 'eight clients spread over both processes');
  } finally {
    for (const c of clients) c.close();
    await gw.stop();
    for (const s of servers) { s.ioServer.close(); s.httpServer.close(); }
  }
});
