// Faults and signals through the real binary: a backend dying mid-session, SIGHUP reloads (good
// and broken files) with live sessions, SIGTERM draining with 1001 after drain.delay, and a second
// process refused a port the first holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { wsgateBin, tempDir, startBackend, startGateway, open, connect, routeYaml, sleep } from './lib.mjs';

test('a backend killed mid-session gives the client 1012 (reconnect) within a second', async () => {
  const backend = await startBackend('doomed');
  const gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }`));
  try {
    const ws = await open(gw.url());
    ws.send('whoami');
    assert.equal((await ws.next()).data.toString(), 'doomed');
    const t0 = Date.now();
    await backend.kill('SIGKILL');
    const closed = await ws.closed;
    assert.equal(closed.code, 1012);
    assert.equal(closed.reason, 'backend went away');
    assert.ok(closed.at - t0 < 1000, `closed after ${closed.at - t0} ms`);
    await gw.waitLog(/backend_gone/);
  } finally {
    await gw.stop();
  }
});

test('SIGHUP adds a route while live sessions stay open; a broken file changes nothing', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const before = routeYaml(`
  - { name: a, match: { path_prefix: /a }, backends: [ "${a.url}" ] }`);
  const gw = await startGateway(before);
  try {
    const live = await open(gw.url('public', '/a'));
    const missing = connect(gw.url('public', '/b'));
    await assert.rejects(missing.opened, (err) => err.status === 404);

    gw.writeConfig(before + `  - { name: b, match: { path_prefix: /b }, backends: [ "${b.url}" ] }\n`);
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/config_reloaded .*routes=2/);
    const added = await open(gw.url('public', '/b'));
    added.send('whoami');
    assert.equal((await added.next()).data.toString(), 'b');
    live.send('whoami');
    assert.equal((await live.next()).data.toString(), 'a', 'the session from before the reload lives on');

    gw.writeConfig('routes: [ { backends: [] } ]\nlisteners: nope\n');
    gw.proc.kill('SIGHUP');
    await gw.waitLog(/reload_rejected/);
    assert.ok(gw.logs.some((l) => /reload_failed .*routes\[0\]\.backends: must not be empty/.test(l)));
    const still = await open(gw.url('public', '/b'));
    still.send('whoami');
    assert.equal((await still.next()).data.toString(), 'b', 'the running configuration stays');
    for (const ws of [live, added, still]) ws.close();
  } finally {
    await gw.stop();
    await a.kill();
    await b.kill();
  }
});

test('SIGTERM sends 1001 to every client and exits 0 after the drain', async () => {
  const backend = await startBackend('w');
  const gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }`));
  try {
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => open(gw.url())));
    // Everything sent before the signal is delivered before the 1001.
    for (const ws of clients) ws.send('last words');
    for (const ws of clients) assert.equal((await ws.next()).data.toString(), 'last words');
    gw.proc.kill('SIGTERM');
    for (const ws of clients) {
      const closed = await ws.closed;
      assert.equal(closed.code, 1001);
      assert.equal(closed.reason, 'server shutting down');
    }
    const exit = await gw.exited;
    assert.equal(exit.code, 0);
    await gw.waitLog(/ draining /);
  } finally {
    await gw.stop();
    await backend.kill();
  }
});

// A backend that upgrades, waits, then sends `last` and its FIN in one TCP segment: the EOF
// already stands behind the data in the socket when the gateway reads (tests/backends).
async function abruptBackend(last, earlier = []) {
  const { spawn } = await import('node:child_process');
  const args = [new URL('../backends/abrupt_backend.py', import.meta.url).pathname, last.toString('hex')];
  if (earlier.length) args.push(earlier.map((b) => b.toString('hex')).join(','));
  const proc = spawn('python3', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    proc.stdout.once('data', (d) => resolve(JSON.parse(d.toString()).port));
    proc.once('exit', (code) => reject(new Error(`abrupt backend exited ${code}`)));
  });
  return { port, close: () => proc.kill('SIGKILL') };
}

// The first reads of a session drain its socket until a read would block; from the second short
// read on, a short read ends the turn unless epoll has shown a FIN. Both kinds meet data with the
// FIN right behind it.
const bye = Buffer.from([0x81, 0x03, 0x62, 0x79, 0x65]);  // text "bye"
const hi = Buffer.from([0x81, 0x02, 0x68, 0x69]);         // text "hi"
const ho = Buffer.from([0x81, 0x02, 0x68, 0x6f]);         // text "ho"
for (const [when, earlier, expected] of [['as the first read', [], ['bye']],
                                         ['after earlier messages', [hi, ho], ['hi', 'ho', 'bye']]]) {
  test(`data and FIN arriving together ${when}: the client gets the data and 1012 at once`, async () => {
    const server = await abruptBackend(bye, earlier);
    const gw = await startGateway(routeYaml(`
  - { name: abrupt, match: { path_prefix: / }, backends: [ "ws://127.0.0.1:${server.port}" ] }`));
    try {
      const ws = await open(gw.url());
      for (const text of expected) assert.equal((await ws.next()).data.toString(), text);
      const t0 = Date.now();
      const closed = await ws.closed;
      assert.equal(closed.code, 1012);
      assert.ok(closed.at - t0 < 1000, `closed after ${closed.at - t0} ms`);
    } finally {
      await gw.stop();
      server.close();
    }
  });
}

test('a close frame and FIN arriving together end the session at once', async () => {
  const server = await abruptBackend(Buffer.from([0x88, 0x04, 0x0f, 0xa0, 0x6f, 0x6b]));  // 4000 "ok"
  const gw = await startGateway(routeYaml(`
  - { name: abrupt, match: { path_prefix: / }, backends: [ "ws://127.0.0.1:${server.port}" ] }`));
  try {
    const ws = await open(gw.url());
    const t0 = Date.now();
    const closed = await ws.closed;
    assert.equal(closed.code, 4000);
    assert.equal(closed.reason, 'ok');
    assert.ok(closed.at - t0 < 1500, `closed after ${closed.at - t0} ms`);  // 200 ms of it is the backend's wait
    await gw.waitLog(/session_closed .*reason="backend closed"/);
  } finally {
    await gw.stop();
    server.close();
  }
});

test('the drain timeline: /readyz 503 while still accepting for drain.delay, then 1001, exit 0 by drain.timeout', async () => {
  const backend = await startBackend('w');
  const delay = 1000, timeout = 2000;
  const gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }`).replace(
    'drain: { timeout: 5s }', `drain: { delay: ${delay}ms, timeout: ${timeout}ms }`));
  const ready = async () => (await fetch(`http://127.0.0.1:${gw.ports.admin}/readyz`)).status;
  try {
    assert.equal(await ready(), 200);
    const polite = await open(gw.url());
    // A client that never answers the close, nor the FIN behind it (a half-open socket): the
    // drain has to end without it.
    const deaf = net.connect({ port: gw.ports.public, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => deaf.once('connect', r));
    deaf.on('error', () => {});
    deaf.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
               'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const head = await new Promise((r) => deaf.once('data', (d) => r(d.toString())));
    assert.match(head, /^HTTP\/1\.1 101/);
    const t0 = Date.now();
    gw.proc.kill('SIGTERM');
    await gw.waitLog(/ draining .*delay_ms=1000 timeout_ms=2000/);
    assert.equal(await ready(), 503, 'not ready at once');
    const tReady = Date.now() - t0;
    const late = await open(gw.url());  // still accepted during the delay
    late.send('whoami');
    assert.equal((await late.next()).data.toString(), 'w', 'a session opened during the delay works');
    const closed = await polite.closed;
    const tClosed = closed.at - t0;
    assert.equal(closed.code, 1001);
    assert.equal((await late.closed).code, 1001);
    assert.equal(await ready(), 503, 'the admin listener still answers after the 1001s');
    const exit = await gw.exited;
    const tExit = Date.now() - t0;
    assert.equal(exit.code, 0);
    assert.ok(tReady < 500, `503 after ${tReady} ms`);
    assert.ok(tClosed >= delay - 50 && tClosed < delay + 1000, `1001 after ${tClosed} ms (delay ${delay})`);
    assert.ok(tExit >= delay + timeout - 100 && tExit < delay + timeout + 1500,
              `exit after ${tExit} ms (delay + timeout ${delay + timeout}: the deaf client held it)`);
    assert.ok(gw.logs.some((l) => / drain_timeout sessions_left=1/.test(l)), 'the deaf session was left');
    console.log(`drain timeline: 503 at ${tReady} ms, 1001 at ${tClosed} ms, exit at ${tExit} ms`);
    deaf.destroy();
  } finally {
    await gw.stop();
    await backend.kill();
  }
});

test('a second gateway on a port another process holds: "address in use", unless reuse_port_with_others', async () => {
  const backend = await startBackend('w');
  const route = `
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }`;
  const first = await startGateway(routeYaml(route));
  try {
    const port = first.ports.public;
    const listeners = `  - { name: public, bind: "127.0.0.1:${port}" }`;
    const dir = tempDir();
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, routeYaml(route, { listeners }));
    const r = spawnSync(wsgateBin, ['--config', file], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1, 'refuses to start');
    assert.match(r.stderr, new RegExp(`listen_failed listener=public address=127.0.0.1:${port} error="address in use by another process`));
    const sharing = await startGateway(routeYaml(route, {
      listeners: `  - { name: public, bind: "127.0.0.1:${port}", reuse_port_with_others: true }` }));
    assert.equal(sharing.ports.public, port, 'told to share, it does');
    await sharing.stop();
  } finally {
    await first.stop();
    await backend.kill();
  }
});
