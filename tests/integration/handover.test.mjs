// Issue 34: SIGUSR2 upgrades the binary with live sessions. A copy of the freshly built binary runs
// the gateway; SIGUSR2 starts the file at its path again, which takes the listening sockets and
// every plain WebSocket session between frames. Real ws clients (150 chatters, more than one batch
// of the move) keep exchanging numbered messages
// through it: every plain one stays connected with every message echoed in order (mid-fragmented
// message, throttled, holding unsent bytes toward a slow reader, or closing meanwhile), TLS clients
// get 1001, and the counts say so. A second SIGUSR2, a configuration that fails and a new process
// that dies while adopting change nothing for the clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startBackend, startGateway, startRedis, connect, open, routeYaml, sleep, tempDir, makeCert, wsgateBin } from './lib.mjs';

let backend;
const successors = [];  // PIDs of the processes SIGUSR2 started: ours to stop
const chatters = [];    // stopped at the end whatever happened, or node would never exit
const gateways = [];    // the same

before(async () => { backend = await startBackend('w1'); });
after(async () => {
  for (const c of chatters) { clearInterval(c.timer); c.ws.terminate(); }
  for (const gw of gateways) if (gw.proc.exitCode === null && !gw.proc.signalCode) gw.proc.kill('SIGKILL');
  await backend.kill();
  for (const pid of successors) { try { process.kill(pid, 'SIGKILL'); } catch {} }
});

// The binary under test, copied: SIGUSR2 starts whatever file is at this path.
function binaryCopy(dir) {
  const bin = path.join(dir, 'wsgate');
  copyFileSync(wsgateBin, bin);
  chmodSync(bin, 0o755);
  return bin;
}

async function startUpgradable(extraEnv = {}) {
  const dir = tempDir();
  const cert = makeCert(dir, 'gw', ['localhost']);
  const yaml = routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: slow, match: { path_prefix: /slow }, rate_limit: five, backends: [ "${backend.url}" ] }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - name: secure
    bind: "127.0.0.1:0"
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `handover: { timeout: 10s }
rate_limits:
  - { name: five, key: [ "ip" ], messages: { rate: 5, per: 1s, burst: 5, action: throttle } }`,
  });
  const gw = await startGateway(yaml, { dir, bin: binaryCopy(dir), env: extraEnv });
  gateways.push(gw);
  return { gw, yaml };
}

// A client sending "NAME:i" every `every` ms and checking each echo comes back, in order.
function chatter(url, name, every = 20, options = {}) {
  const ws = connect(url, options);
  const state = { ws, sent: 0, echoed: 0, errors: [], timer: null };
  chatters.push(state);
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith(`${name}:`)) return;
    const n = Number(text.slice(name.length + 1));
    if (n !== state.echoed) state.errors.push(`expected ${state.echoed}, got ${n}`);
    state.echoed = n + 1;
  });
  state.ready = ws.opened.then(() => {
    state.timer = setInterval(() => { if (ws.readyState === 1) ws.send(`${name}:${state.sent++}`); }, every);
  });
  state.stop = async () => {
    clearInterval(state.timer);
    const deadline = Date.now() + 5000;
    while (state.echoed < state.sent && ws.readyState === 1 && Date.now() < deadline) await sleep(20);
  };
  return state;
}

// Ends the process SIGUSR2 started as an operator would (SIGTERM: drain and exit, with the
// sanitizers' exit checks), then fails on any sanitizer report in either process's output.
async function stopSuccessor(gw, pid) {
  try { process.kill(pid, 'SIGTERM'); } catch {}
  for (let i = 0; i < 200; i++) {
    try { process.kill(pid, 0); } catch { break; }
    await sleep(50);
  }
  try { process.kill(pid, 'SIGKILL'); } catch {}
  await sleep(100);  // its last lines
  await gw.stop();
}

function successorPid(gw) {
  const line = gw.logs.find((l) => / handover_started /.test(l));
  const pid = Number(line.match(/ pid=(\d+)/)[1]);
  if (!successors.includes(pid)) successors.push(pid);
  return pid;
}

test('SIGUSR2 moves every plain session to the new binary without a lost or reordered message', async () => {
  const { gw } = await startUpgradable();
  // More than a batch (64 per io thread) of them, so that the move goes batch after batch.
  const plain = Array.from({ length: 150 }, (_, i) => chatter(gw.url('public', '/echo'), `c${i}`, 50));
  const secure = [0, 1].map((i) => chatter(gw.url('secure', '/echo', 'wss'), `t${i}`, 50, { rejectUnauthorized: false }));
  await Promise.all([...plain, ...secure].map((c) => c.ready));

  // In the middle of a fragmented message: the first frame goes before the upgrade, the last after.
  const fragmented = await open(gw.url('public', '/echo'));
  fragmented.send('first half, ', { fin: false });
  // Throttled by a message budget: 15 messages at 5/s, the last ones still held back at the upgrade.
  const throttled = await open(gw.url('public', '/slow'));
  for (let i = 0; i < 15; i++) throttled.send(`slow:${i}`);
  // Unsent bytes toward a slow reader: 8 MiB the client does not read yet.
  const reader = await open(gw.url('public', '/echo'));
  reader._socket.pause();
  reader.send('burst 128 65536');
  // Closing during the handover.
  const closing = await open(gw.url('public', '/echo'));

  await sleep(300);
  const oldExit = gw.exited;
  const sentBefore = plain.map((c) => c.sent);
  gw.proc.kill('SIGUSR2');
  closing.close(1000, 'bye');
  await gw.waitLog(/ handover_moving /, 10000);
  const pid = successorPid(gw);
  await sleep(200);
  reader._socket.resume();
  fragmented.send('second half', { fin: true });

  const exit = await Promise.race([oldExit, sleep(15000).then(() => null)]);
  assert.ok(exit, 'the old process exits once its sessions have moved');
  assert.equal(exit.code, 0);
  assert.notEqual(pid, gw.proc.pid);
  const done = gw.logs.find((l) => / handover result=completed /.test(l));
  assert.ok(done, 'one handover line');
  const handed = Number(done.match(/ handed_over=(\d+)/)[1]);
  // The chatters, fragmented, throttled and reader; the closing one too when its close came after.
  assert.ok(handed === plain.length + 3 || handed === plain.length + 4, done);
  // Drained: the TLS sessions only (a session closing on its own is neither moved nor drained).
  assert.equal(Number(done.match(/ drained=(\d+)/)[1]), secure.length, done);
  await gw.waitLog(/ handover_completed /, 5000);

  // TLS sessions drained with 1001.
  for (const s of secure) {
    const closed = await Promise.race([s.ws.closed, sleep(5000).then(() => null)]);
    clearInterval(s.timer);
    assert.equal(closed?.code, 1001);
  }
  // The closing client got its clean close.
  assert.equal((await closing.closed).code, 1000);

  // Everything else goes on through the new process, every echo in order.
  await sleep(500);
  for (const [i, c] of plain.entries()) {
    await c.stop();
    assert.equal(c.ws.readyState, 1, 'still connected');
    assert.deepEqual(c.errors, []);
    assert.equal(c.echoed, c.sent);
    assert.ok(sentBefore[i] > 0 && c.sent >= sentBefore[i] + 5, 'messages both before and after the upgrade');
  }
  assert.equal((await fragmented.next()).data.toString(), 'first half, second half');
  for (let i = 0; i < 15; i++) assert.equal((await throttled.next(8000)).data.toString(), `slow:${i}`);
  for (let i = 0; i < 128; i++) {
    const m = (await reader.next(8000)).data.toString();
    assert.ok(m.startsWith(`${i}:`), `burst message ${i} in order`);
    assert.equal(m.length, 65536);
  }

  // The new process: generation 2, the adopted sessions counted, new clients served.
  const api = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/config`)).json();
  assert.equal(api.generation, 2);
  assert.equal(await gw.metric('wsgate_handover_sessions_total{result="adopted"}'), handed);
  assert.equal(await gw.metric('wsgate_process_generation'), 2);
  const fresh = await open(gw.url('public', '/echo'));
  fresh.send('hello');
  assert.equal((await fresh.next()).data.toString(), 'hello');
  assert.equal((await (await fetch(`http://127.0.0.1:${gw.ports.admin}/readyz`)).status), 200);
  for (const ws of [fresh, fragmented, throttled, reader, ...plain.map((c) => c.ws)]) ws.terminate();
  await stopSuccessor(gw, pid);
});

test('a second SIGUSR2 while one runs is refused, and the first completes', async () => {
  const { gw } = await startUpgradable();
  const c = chatter(gw.url('public', '/echo'), 'x');
  await c.ready;
  gw.proc.kill('SIGUSR2');
  // Two signals sent at once may arrive as one: the second goes once the first has started.
  await gw.waitLog(/ handover_started /, 5000);
  gw.proc.kill('SIGUSR2');
  await gw.waitLog(/ handover_refused reason="an upgrade is under way"/, 5000);
  const exit = await Promise.race([gw.exited, sleep(15000).then(() => null)]);
  assert.equal(exit?.code, 0);
  const pid = successorPid(gw);
  assert.equal(gw.logs.filter((l) => / handover_started /.test(l)).length, 1);
  await sleep(300);
  await c.stop();
  assert.equal(c.ws.readyState, 1);
  assert.deepEqual(c.errors, []);
  assert.equal(c.echoed, c.sent);
  c.ws.terminate();
  await stopSuccessor(gw, pid);
});

test('a new configuration that fails leaves the old process serving every session', async () => {
  const { gw, yaml } = await startUpgradable();
  const c = chatter(gw.url('public', '/echo'), 'x');
  await c.ready;
  gw.writeConfig(yaml.replace('routes:', 'routes: [oops'));
  gw.proc.kill('SIGUSR2');
  const failed = await gw.waitLog(/ handover_failed /, 10000);
  assert.match(failed, /the new process ended/);
  successorPid(gw);
  await sleep(300);
  assert.equal(gw.proc.exitCode, null, 'the old process runs on');
  await c.stop();
  assert.equal(c.ws.readyState, 1);
  assert.deepEqual(c.errors, []);
  assert.equal(c.echoed, c.sent);
  // It still accepts, and is ready.
  const fresh = await open(gw.url('public', '/echo'));
  fresh.send('still here');
  assert.equal((await fresh.next()).data.toString(), 'still here');
  assert.equal((await fetch(`http://127.0.0.1:${gw.ports.admin}/readyz`)).status, 200);
  fresh.terminate();
  c.ws.terminate();
  await gw.stop();
});

test('a new process that dies while adopting leaves every session with the old one', async () => {
  // The new process exits on receiving its first session, before it tells the old one it took it.
  const { gw } = await startUpgradable({ WSGATE_HANDOVER_TEST_EXIT_AT_SESSION: '1' });
  const clients = Array.from({ length: 6 }, (_, i) => chatter(gw.url('public', '/echo'), `k${i}`));
  await Promise.all(clients.map((c) => c.ready));
  await sleep(200);
  gw.proc.kill('SIGUSR2');
  const failed = await gw.waitLog(/ handover_failed /, 10000);
  successorPid(gw);
  // How many were on their way when it died depends on timing: those are kept (taken back), the
  // rest were never asked to move.
  assert.match(failed, / handed_over=0 /);
  await sleep(500);
  assert.equal(gw.proc.exitCode, null);
  for (const c of clients) {
    await c.stop();
    assert.equal(c.ws.readyState, 1, 'kept by the old process');
    assert.deepEqual(c.errors, []);
    assert.equal(c.echoed, c.sent);
  }
  const kept = await gw.metric('wsgate_handover_sessions_total{result="kept"}');
  assert.ok(kept >= 1 && kept <= 6, `kept ${kept}`);
  assert.equal(await gw.metric('wsgate_handover_sessions_total{result="handed_over"}'), 0);
  const fresh = await open(gw.url('public', '/echo'));
  fresh.send('accepting again');
  assert.equal((await fresh.next()).data.toString(), 'accepting again');
  fresh.terminate();
  for (const c of clients) c.ws.terminate();
  await gw.stop();
});

test('a session whose route the new configuration removed is adopted, then closed with 1012', async () => {
  const { gw, yaml } = await startUpgradable();
  const kept = chatter(gw.url('public', '/echo'), 'e');
  const dropped = await open(gw.url('public', '/slow'));
  await kept.ready;
  gw.writeConfig(yaml.replace(/\n  - \{ name: slow,[^\n]*/, ''));
  gw.proc.kill('SIGUSR2');
  const closed = await Promise.race([dropped.closed, sleep(10000).then(() => null)]);
  assert.equal(closed?.code, 1012);
  const exit = await Promise.race([gw.exited, sleep(15000).then(() => null)]);
  assert.equal(exit?.code, 0);
  const pid = successorPid(gw);
  await gw.waitLog(/ session_adopted_closed route=slow /);
  assert.equal(await gw.metric('wsgate_handover_sessions_total{result="closed"}'), 1);
  await sleep(200);
  await kept.stop();
  assert.equal(kept.ws.readyState, 1);
  assert.deepEqual(kept.errors, []);
  assert.equal(kept.echoed, kept.sent);
  kept.ws.terminate();
  await stopSuccessor(gw, pid);
});

test('a session counted in Redis stays counted by the new process, and is released at its end', async () => {
  const redis = await startRedis();
  const dir = tempDir();
  // A lease of 3 s (the least allowed): had the new process not renewed the leases, they would lapse below.
  const yaml = routeYaml(`
  - { name: capped, match: { path_prefix: /capped }, rate_limit: two, backends: [ "${backend.url}" ] }`, {
    extra: `redis: { address: 127.0.0.1:${redis.port}, session_lease: 3s }
rate_limits:
  - { name: two, key: [ "header:X-Client" ], store: redis, max_sessions: 2 }` });
  const gw = await startGateway(yaml, { dir, bin: binaryCopy(dir) });
  gateways.push(gw);
  const headers = { 'X-Client': 'carol' };
  const attempt = () => {
    const ws = connect(gw.url('public', '/capped'), { headers });
    return ws.opened.then(() => ws, (e) => e.status);
  };
  const a = await attempt();
  const b = await attempt();
  assert.equal(await attempt(), 429);
  gw.proc.kill('SIGUSR2');
  assert.equal((await Promise.race([gw.exited, sleep(15000).then(() => null)]))?.code, 0);
  const pid = successorPid(gw);
  await sleep(4000);  // beyond a lease
  assert.equal(await attempt(), 429, 'both sessions still counted');
  a.send('whoami');
  assert.equal((await a.next()).data.toString(), 'w1');
  a.close();
  await a.closed;
  let third = 0;
  for (const deadline = Date.now() + 5000; typeof third === 'number' && Date.now() < deadline; await sleep(100))
    third = await attempt();
  assert.equal(typeof third, 'object', 'the ended session was released');
  third.terminate();
  b.terminate();
  await stopSuccessor(gw, pid);
  await redis.stop();
});

test('under systemd (NOTIFY_SOCKET) the new process names itself the main one', async () => {
  const dir = tempDir();
  const socketPath = path.join(dir, 'notify.sock');
  // A stand-in for systemd's notification socket: prints each datagram as a JSON line.
  const listener = spawn('python3', ['-u', '-c', `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"))
while True:
    print(json.dumps(s.recv(4096).decode()))`, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages = [];
  let buffered = '';
  listener.stdout.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) { messages.push(JSON.parse(buffered.slice(0, i))); buffered = buffered.slice(i + 1); }
  });
  for (let i = 0; i < 50 && !messages.includes('bound'); i++) await sleep(50);
  try {
    const { gw } = await startUpgradable({ NOTIFY_SOCKET: socketPath });
    for (let i = 0; i < 50 && !messages.includes('READY=1'); i++) await sleep(50);
    assert.ok(messages.includes('READY=1'), 'ready after the start');
    gw.proc.kill('SIGUSR2');
    assert.equal((await Promise.race([gw.exited, sleep(15000).then(() => null)]))?.code, 0);
    const pid = successorPid(gw);
    for (let i = 0; i < 50 && messages.length < 3; i++) await sleep(50);
    assert.ok(messages.includes(`MAINPID=${pid}\nREADY=1`), JSON.stringify(messages));
    await stopSuccessor(gw, pid);
  } finally {
    listener.kill('SIGKILL');
  }
});
