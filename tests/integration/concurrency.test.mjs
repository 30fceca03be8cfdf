// Several io threads at once, through the real binary: sessions relayed on four threads while the
// configuration is reloaded under them, and a session cap raced for from every thread. CI runs this
// file under ThreadSanitizer too (label `threaded`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, open, connect, routeYaml, sleep } from './lib.mjs';

let backend, gw;

function config(generation) {
  // Each generation changes what a reload must swap: a route comes and goes, a limit changes.
  const extra = generation % 2 ? `
  - { name: extra, match: { path_prefix: /extra }, backends: [ "${backend.url}" ] }` : '';
  return routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: capped, match: { path_prefix: /capped }, rate_limit: five, backends: [ "${backend.url}" ] }${extra}`,
  { extra: `rate_limits:
  - { name: five, key: [ "header:X-Client" ], max_sessions: 5, messages: { rate: ${1000 + generation}, per: 1s, burst: 1000 } }` })
    .replace('threads: 2', 'threads: 4');
}

before(async () => {
  backend = await startBackend('w1');
  gw = await startGateway(config(0));
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

const reloadsDone = () => gw.logs.filter((l) => /config_reloaded/.test(l)).length;

async function reload(text) {
  const before = reloadsDone();
  gw.writeConfig(text);
  gw.proc.kill('SIGHUP');
  for (const deadline = Date.now() + 10000; reloadsDone() === before; await sleep(20))
    if (Date.now() > deadline) throw new Error(`no reload (last lines:\n${gw.logs.slice(-5).join('\n')})`);
}

// Sends `count` numbered messages without waiting, then checks every echo arrives once, in order.
async function roundTrip(ws, id, count) {
  for (let i = 0; i < count; i++) ws.send(`${id}:${i}`);
  for (let i = 0; i < count; i++) assert.equal((await ws.next(20000)).data.toString(), `${id}:${i}`);
}

test('24 sessions on four io threads relay in order while the configuration is reloaded 8 times', async () => {
  const sessions = await Promise.all(Array.from({ length: 24 }, () => open(gw.url('public', '/echo'))));
  let reloads = 0;
  const reloading = (async () => {
    for (let generation = 1; generation <= 8; generation++) {
      await reload(config(generation));
      reloads++;
      // Sessions opened between reloads are relayed too.
      const late = await open(gw.url('public', '/echo'));
      await roundTrip(late, `late${generation}`, 20);
      late.close();
    }
  })();
  await Promise.all([reloading, ...sessions.map((ws, id) => roundTrip(ws, id, 300))]);
  assert.equal(reloads, 8);
  for (const ws of sessions) ws.close(1000);
  const closed = await Promise.all(sessions.map((ws) => ws.closed));
  assert.deepEqual(new Set(closed.map((c) => c.code)), new Set([1000]));
});

test('30 clients of one key racing for a cap of 5 across four threads: exactly 5 get in', async () => {
  const race = () => Array.from({ length: 30 }, () =>
    connect(gw.url('public', '/capped'), { headers: { 'x-client': 'mallory' } }));
  const tally = async (clients) => {
    const results = await Promise.all(clients.map((ws) => ws.opened.then(() => 101, (err) => err.status)));
    return { in: clients.filter((_, i) => results[i] === 101), refused: results.filter((s) => s === 429).length };
  };
  const first = await tally(race());
  assert.equal(first.in.length, 5);
  assert.equal(first.refused, 25);
  for (const ws of first.in) ws.close(1000);
  await Promise.all(first.in.map((ws) => ws.closed));
  const second = await tally(race());
  assert.equal(second.in.length, 5, 'the slots come back when their sessions end');
  for (const ws of second.in) ws.close(1000);
});
