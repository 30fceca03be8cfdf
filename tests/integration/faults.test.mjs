// Faults with real processes: backends that never answer, answer garbage or stop reading; logs
// going to a full disk; a broken reload and a SIGTERM in the middle of traffic. Each has its exact
// answer, and a healthy session on the same gateway goes on through it. (A backend that dies
// mid-session is in lifecycle.test.mjs: its clients get 1012.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  wsgateBin, tempDir, startBackend, startGateway, open, connect, routeYaml, sleep, rssKiB, freePort,
  upgradeResponse,
} from './lib.mjs';

let backend, silent, garbage, deaf, dropper, dropper2, gw;
const dropped = { requests: [] };
const deafReceived = { bytes: 0, sockets: [] };

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

before(async () => {
  backend = await startBackend('w1');
  silent = net.createServer(() => {});  // accepts, never answers
  garbage = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\u0000\u00ff garbage\r\n\r\n'));
  });
  // Upgrades properly, then stops reading until told to resume.
  deaf = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (head) => {
      s.write(upgradeResponse(head));
      s.pause();
      s.on('data', (c) => { deafReceived.bytes += c.length; });
      deafReceived.sockets.push(s);
    });
  });
  // Takes the request and drops the connection without a byte of answer, as a dying backend does.
  // (Two of them: the first is taken out by its failure, and the POST route needs a fresh one.)
  const drop = (s) => {
    s.on('error', () => {});
    s.once('data', (head) => { dropped.requests.push(head.toString().split('\r\n')[0]); s.destroy(); });
  };
  dropper = net.createServer(drop);
  dropper2 = net.createServer(drop);
  const [silentPort, garbagePort, deafPort, dropperPort, dropper2Port] =
    await Promise.all([listen(silent), listen(garbage), listen(deaf), listen(dropper), listen(dropper2)]);
  gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: silent, match: { path_prefix: /silent }, response_timeout: 500ms, backends: [ "ws://127.0.0.1:${silentPort}" ] }
  - { name: garbage, match: { path_prefix: /garbage }, backends: [ "ws://127.0.0.1:${garbagePort}" ] }
  - { name: deaf, match: { path_prefix: /deaf }, backends: [ "ws://127.0.0.1:${deafPort}" ] }
  - { name: dropped_upgrade, match: { path_prefix: /dropped-upgrade }, balance: round_robin,
      backends: [ "ws://127.0.0.1:${dropperPort}", "${backend.url}" ] }
  - { name: dropped_post, match: { path_prefix: /dropped-post }, balance: round_robin,
      backends: [ "ws://127.0.0.1:${dropper2Port}", "${backend.url}" ] }`));
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
  for (const s of [silent, garbage, deaf, dropper, dropper2]) s?.close();
  for (const s of deafReceived.sockets) s.destroy();
});

// A session on the healthy route, opened before a fault and checked after it.
async function healthy() {
  const ws = await open(gw.url('public', '/echo'));
  return {
    async stillEchoes() {
      ws.send('alive?');
      assert.equal((await ws.next()).data.toString(), 'alive?', 'the healthy session goes on');
      ws.close();
    },
  };
}

async function refusal(pathname) {
  const ws = connect(gw.url('public', pathname));
  return ws.opened.then(() => { ws.close(); return null; }, (e) => e);
}

test('a backend that accepts and never answers the upgrade: 504 after response_timeout', async () => {
  const other = await healthy();
  const started = Date.now();
  const err = await refusal('/silent');
  assert.equal(err.status, 504);
  assert.ok(Date.now() - started >= 450, 'not before response_timeout');
  await other.stillEchoes();
});

test('a backend that answers garbage: 502', async () => {
  const other = await healthy();
  const err = await refusal('/garbage');
  assert.equal(err.status, 502);
  await gw.waitLog(/request_rejected status=502 route=garbage .*reason="malformed backend response/);
  await other.stillEchoes();
});

test('a backend that drops an upgrade unanswered: the next backend takes it; a POST with a body is not repeated', async () => {
  for (let i = 0; i < 2; i++) {
    const ws = await open(gw.url('public', '/dropped-upgrade'));
    ws.send('whoami');
    assert.equal((await ws.next()).data.toString(), 'w1');
    ws.close();
  }
  assert.equal(dropped.requests.filter((l) => l.startsWith('GET /dropped-upgrade')).length, 1, 'the dropper got one of the two');
  await gw.waitLog(/backend_connect_failed route=dropped_upgrade .*error="closed before answering/);
  const statuses = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${gw.url('public', '/dropped-post').replace('ws:', 'http:')}`, { method: 'POST', body: 'once' });
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  assert.deepEqual(statuses.sort(), [200, 502], 'the dropped POST is answered 502, not sent again');
  assert.equal(dropped.requests.filter((l) => l.startsWith('POST /dropped-post')).length, 1);
});

test('a backend that stops reading: the client is held back, the gateway holds little, nothing is lost', async () => {
  const other = await healthy();
  const before = rssKiB(gw.proc.pid);
  const ws = await open(gw.url('public', '/deaf'));
  const message = Buffer.alloc(100000, 7);
  const count = 300;
  for (let i = 0; i < count; i++) ws.send(message);  // 30 MB towards a backend that reads nothing
  const frameBytes = 2 + 8 + 100000 + 4;  // header with a 64-bit length, mask key, payload
  const expected = count * frameBytes;
  // The verdict is what wsgate does, not how much the kernel's autotuned buffers absorb on the way:
  // its count of bytes read from the client stops growing well short of what was sent (it stopped
  // reading), and its memory stays small meanwhile.
  const relayed = () => gw.metric('wsgate_bytes_total{route="deaf",direction="client_to_backend"}');
  let last = -1;
  for (const deadline = Date.now() + 20000; Date.now() < deadline;) {
    const now = await relayed();
    if (now === last && now > 0) break;
    last = now;
    await sleep(1000);
  }
  assert.ok(last > 0, 'the gateway relayed the first messages');
  assert.equal(await relayed(), last, 'the gateway stopped reading the client');
  assert.ok(last < expected / 2, `the gateway read ${last} of ${expected} bytes from the client`);
  const during = rssKiB(gw.proc.pid);
  assert.ok(during - before < 8 * 1024 * (process.env.WSGATE_SANITIZER ? 4 : 1),
            `gateway RSS grew ${during - before} KiB while the backend did not read`);
  await other.stillEchoes();
  for (const s of deafReceived.sockets) s.resume();
  for (const deadline = Date.now() + 30000; deafReceived.bytes < expected && Date.now() < deadline;) await sleep(50);
  assert.equal(deafReceived.bytes, expected, 'every byte reached the backend once it read again');
  ws.terminate();
});

test('SIGHUP with a broken file during traffic: nothing stops, nothing is lost, the next good file loads', async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => open(gw.url('public', '/echo'))));
  const reloads = () => gw.logs.filter((l) => /config_reloaded/.test(l)).length;
  const reloadsBefore = reloads();
  let stop = false;
  const streams = clients.map(async (ws, id) => {
    let n = 0;
    while (!stop) {
      ws.send(`${id}:${n}`);
      assert.equal((await ws.next()).data.toString(), `${id}:${n}`);
      n++;
    }
    return n;
  });
  await sleep(200);
  const config = readFileSync(gw.configPath, 'utf8');
  gw.writeConfig(config.replace('routes:', 'routes: [\n'));
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/reload_rejected/);
  await sleep(200);
  gw.writeConfig(config);
  gw.proc.kill('SIGHUP');
  for (const deadline = Date.now() + 5000; reloads() === reloadsBefore && Date.now() < deadline;) await sleep(20);
  assert.equal(reloads(), reloadsBefore + 1, 'the good file loaded after the broken one');
  await sleep(200);
  stop = true;
  const counts = await Promise.all(streams);
  for (const n of counts) assert.ok(n > 5, `each client went on round-tripping (${counts})`);
  for (const ws of clients) ws.close(1000);
});

test('SIGTERM during traffic: every client gets 1001 and each got an unbroken prefix of its echoes', async () => {
  const b = await startBackend('w2');
  const g = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: / }, backends: [ "${b.url}" ] }`));
  try {
    const clients = await Promise.all(Array.from({ length: 10 }, () => open(g.url())));
    const received = clients.map(() => []);
    const sent = clients.map(() => 0);
    clients.forEach((ws, id) => ws.on('message', (d) => received[id].push(d.toString())));
    // Each client keeps 8 messages in flight until its session ends.
    const pumps = clients.map((ws, id) => (async () => {
      while (ws.readyState === ws.OPEN) {
        while (sent[id] - received[id].length < 8 && ws.readyState === ws.OPEN) ws.send(`${id}:${sent[id]++}`);
        await sleep(1);
      }
    })());
    await sleep(500);
    g.proc.kill('SIGTERM');
    const closed = await Promise.all(clients.map((ws) => ws.closed));
    await Promise.all(pumps);
    const exit = await g.exited;
    assert.equal(exit.code, 0);
    clients.forEach((_, id) => {
      assert.equal(closed[id].code, 1001);
      assert.ok(received[id].length > 10, `client ${id} was in traffic (${received[id].length} echoes)`);
      assert.deepEqual(received[id], received[id].map((_, i) => `${id}:${i}`), `client ${id}: echoes in order, none missing`);
    });
  } finally {
    await g.stop();
    await b.kill();
  }
});

test('logs to a full disk (stderr on /dev/full): the gateway serves, rejects and reloads as before', async () => {
  const b = await startBackend('w3');
  const dir = tempDir();
  const port = await freePort();
  const yaml = routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${b.url}" ] }`,
  { listeners: `  - { name: public, bind: "127.0.0.1:${port}" }` });
  const configPath = path.join(dir, 'gateway.yaml');
  writeFileSync(configPath, yaml);
  const full = openSync('/dev/full', 'w');
  const proc = spawn(wsgateBin, ['--config', configPath], { cwd: dir, stdio: ['ignore', full, full] });
  closeSync(full);
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  try {
    let ws;
    for (const deadline = Date.now() + 10000; !ws;) {
      ws = await open(`ws://127.0.0.1:${port}/echo`).catch(() => null);
      if (!ws) {
        assert.ok(Date.now() < deadline, 'the gateway started although it cannot write a log line');
        await sleep(100);
      }
    }
    for (let i = 0; i < 100; i++) {
      ws.send(`m${i}`);
      assert.equal((await ws.next()).data.toString(), `m${i}`);
    }
    const missing = connect(`ws://127.0.0.1:${port}/nowhere`);
    assert.equal((await missing.opened.catch((e) => e)).status, 404);
    proc.kill('SIGHUP');
    await sleep(300);
    const after = await open(`ws://127.0.0.1:${port}/echo`);
    after.send('after reload');
    assert.equal((await after.next()).data.toString(), 'after reload');
    ws.close(1000);
    after.close(1000);
    assert.equal(proc.exitCode, null, 'still running');
    proc.kill('SIGTERM');
    assert.equal((await exited).code, 0);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    await b.kill();
  }
});
