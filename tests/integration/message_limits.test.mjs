// Message and byte limits through the real binary: throttle delivers everything in order and late,
// close answers 1008, drop discards whole messages and keeps the session, limits on the backend's
// traffic, a key's sessions sharing one budget, and a reload reaching live sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startBackend, startGateway, open, routeYaml, sleep } from './lib.mjs';

let backend, gw;

function config(lossyAction = 'drop') {
  const route = (name, policy) =>
    `\n  - { name: ${name}, match: { path_prefix: /${name} }, rate_limit: ${policy}, backends: [ "${backend.url}" ] }`;
  return routeYaml(route('throttled', 'slow') + route('closing', 'strict') + route('dropping', 'lossy') + route('ledger', 'spent') +
                   route('bytes', 'bandwidth') + route('downstream', 'backend-side') +
                   route('accuracy', 'hundred') +
                   `\n  - { name: slowidle, match: { path_prefix: /slowidle }, rate_limit: trickle, limits: { idle_timeout: 1s }, backends: [ "${backend.url}" ] }`, { extra: `rate_limits:
  - { name: slow, key: [ "header:X-Client" ], messages: { rate: 50, per: 1s, burst: 10, action: throttle } }
  - { name: strict, key: [ "header:X-Client" ], messages: { rate: 5, per: 1s, burst: 5, action: close } }
  - { name: lossy, key: [ "header:X-Client" ], messages: { rate: 5, per: 1s, burst: 5, action: ${lossyAction} } }
  - { name: spent, key: [ "header:X-Client" ], messages: { rate: 1, per: 1h, burst: 5, action: ${lossyAction} } }
  - { name: bandwidth, key: [ "header:X-Client" ], bytes: { rate: 64KiB, per: 1s, burst: 16KiB, action: throttle } }
  - { name: trickle, key: [ "header:X-Client" ], bytes: { rate: 10KiB, per: 1s, burst: 1KiB, action: throttle } }
  - { name: hundred, key: [ "header:X-Client" ], messages: { rate: 100, per: 1s, burst: 20, action: drop } }
  - { name: backend-side, key: [ "header:X-Client" ], backend_messages: { rate: 100, per: 1s, burst: 10, action: throttle } }` });
}

before(async () => {
  backend = await startBackend('w1');
  gw = await startGateway(config());
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

const client = (path, name) => open(gw.url('public', path), { headers: { 'x-client': name } });

async function receive(ws, n, ms = 10000) {
  const got = [];
  for (let i = 0; i < n; i++) got.push((await ws.next(ms)).data.toString());
  return got;
}

test('throttle holds the client back and loses nothing: every message arrives, in order, at the rate', async () => {
  const ws = await client('/throttled', 'alice');
  const sent = Array.from({ length: 60 }, (_, i) => `m${i}`);
  const start = Date.now();
  for (const m of sent) ws.send(m);
  assert.deepEqual(await receive(ws, sent.length), sent);
  // 10 at once, the other 50 at 50 a second.
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 900, `60 messages took ${elapsed} ms, expected about 1000`);
  await gw.waitLog(/rate_limited route=throttled policy=slow .*direction=from_client limit=messages action=throttle/);
  ws.close();
  await gw.waitLog(/session_closed route=throttled .*throttled=[1-9]/);
});

test('a key shares its budget across its sessions; another key has its own', async () => {
  const a = await client('/throttled', 'bob');
  const b = await client('/throttled', 'bob');
  const other = await client('/throttled', 'carol');
  const start = Date.now();
  for (let i = 0; i < 20; i++) { a.send(`a${i}`); b.send(`b${i}`); }
  for (let i = 0; i < 10; i++) other.send(`c${i}`);
  assert.equal((await receive(other, 10)).length, 10);
  const otherDone = Date.now() - start;
  await receive(a, 20);
  await receive(b, 20);
  const bothDone = Date.now() - start;
  // bob: 40 messages, 10 at once then 50/s: at least 0.6 s; carol's 10 fit her own burst.
  assert.ok(bothDone >= 550, `bob's two sessions finished in ${bothDone} ms: they did not share`);
  assert.ok(otherDone < bothDone, 'carol was not slowed by bob');
  for (const ws of [a, b, other]) ws.close();
});

test('close ends the session with 1008 once the budget is spent', async () => {
  const ws = await client('/closing', 'dave');
  for (let i = 0; i < 8; i++) ws.send(`m${i}`);
  const closed = await ws.closed;
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'rate limit exceeded');
  await gw.waitLog(/rate_limited route=closing .*action=close/);
});

test('drop discards whole messages over the limit, counts them, and keeps the session', async () => {
  const ws = await client('/dropping', 'erin');
  for (let i = 0; i < 20; i++) ws.send(`m${i}`);
  assert.deepEqual(await receive(ws, 5), ['m0', 'm1', 'm2', 'm3', 'm4']);
  await sleep(1100);  // five more credits at 5 a second
  ws.send('later');
  // A gateway slowed down (sanitizers, a busy machine) may take the 20 over more than 200 ms and
  // earn a credit meanwhile: any early extra comes whole and in order, then 'later'.
  const extras = [];
  for (let m; (m = (await ws.next()).data.toString()) !== 'later';) extras.push(m);
  assert.ok(extras.length <= 2 && extras.every((m, i) => m === `m${5 + i}`), `admitted early: ${extras}`);
  ws.close();
  const line = await gw.waitLog(/session_closed route=dropping /);
  const [, through, dropped] = line.match(/messages_in=(\d+) .*dropped=(\d+) /).map(Number);
  assert.equal(through, 6 + extras.length, line);
  assert.equal(dropped, 15 - extras.length, line);
});

test('a byte limit throttles large frames to the configured bandwidth', async () => {
  const ws = await client('/bytes', 'frank');
  const start = Date.now();
  const frames = [0, 1, 2, 3].map((i) => Buffer.alloc(32 * 1024, 65 + i));
  for (const f of frames) ws.send(f);
  const got = [];
  for (let i = 0; i < frames.length; i++) got.push((await ws.next()).data);
  got.forEach((g, i) => assert.ok(g.equals(frames[i]), `frame ${i} intact and in order`));
  // 128 KiB at 64 KiB/s with a 16 KiB burst: the fourth frame leaves about 1.25 s after the first.
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 1100, `128 KiB took ${elapsed} ms`);
  ws.close();
});

test('backend-to-client limits throttle what the backend sends, in order', async () => {
  const ws = await client('/downstream', 'gina');
  const start = Date.now();
  ws.send('burst 60 20');
  const got = await receive(ws, 60);
  assert.deepEqual(got.map((m) => m.split(':')[0]), Array.from({ length: 60 }, (_, i) => `${i}`));
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 450, `60 backend messages at 100/s after a burst of 10 took ${elapsed} ms`);
  await gw.waitLog(/rate_limited route=downstream .*direction=from_backend/);
  ws.close();
});

test('a reload reaches live sessions and keeps what their key has spent', async () => {
  // One credit an hour: however long the reload takes (TSan on a busy machine: 270 ms, a credit at
  // the 5/s of 'lossy'), the spent burst is not refilled meanwhile.
  const ws = await client('/ledger', 'hank');
  for (let i = 0; i < 5; i++) ws.send(`m${i}`);
  await receive(ws, 5);
  gw.writeConfig(config('close'));
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/config_reloaded/);
  ws.send('one too many');
  // Before the reload this message would have been dropped; the burst spent before it stays spent.
  const closed = await ws.closed;
  assert.equal(closed.code, 1008);
});

test('accuracy: 100/s with a burst of 20, a client sending flat out for 10 s gets 1000-1040 through', async () => {
  const ws = await client('/accuracy', 'ivan');
  const start = Date.now();
  let sent = 0;
  let through = 0;
  ws.on('message', (data) => { if (Number(data.toString()) < 10000) through++; });
  // As fast as the socket takes them, each stamped with its send time.
  while (Date.now() - start < 10000) {
    while (ws.bufferedAmount < 16384 && Date.now() - start < 10000) { ws.send(String(Date.now() - start)); sent++; }
    await new Promise((r) => setImmediate(r));
  }
  await sleep(300);  // the last echoes
  console.log(`local accuracy: ${through} of ${sent} messages through in 10 s`);
  assert.ok(sent > 5000, `the client sent ${sent}: far over the limit`);
  assert.ok(through >= 1000 && through <= 1040, `${through} messages through`);
  ws.close();
});

// utime + stime of a process, in seconds (clock ticks of 1/100 s on Linux).
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('a sender held back longer than idle_timeout is not idle, and the gateway waits without spinning', async () => {
  const ws = await client('/slowidle', 'judy');
  ws.send(Buffer.alloc(30 * 1024, 1));  // passes on credit, as 3 s of debt at 10 KiB/s
  assert.equal((await ws.next()).data.length, 30 * 1024);
  const cpuBefore = cpuSeconds(gw.proc.pid);
  const start = Date.now();
  ws.send('held');  // waits for the debt: about 3 s, three times the route's 1 s idle_timeout
  assert.equal((await ws.next(8000)).data.toString(), 'held', 'delivered, not closed as idle');
  const waited = Date.now() - start;
  const cpu = cpuSeconds(gw.proc.pid) - cpuBefore;
  assert.ok(waited >= 2000, `held ${waited} ms`);
  assert.ok(cpu < 0.5, `the gateway used ${cpu} s of CPU while one session waited ${waited} ms`);
  ws.close();
});
