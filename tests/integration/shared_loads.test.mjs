// Issue 32: bounded loads shared by every instance (shared_loads), with two real wsgate processes
// and real Redis. Instance A holds 25 sessions of a hot key on its home backend H (it opened 100
// and its clients elsewhere left); then the same key is opened 100 times through instance B. B
// alone sees H empty and puts its own bound there; sharing, it sees A's 25 and keeps H within the
// bound over the sum of both instances. Redis stopped: B falls back to its own counts, with one
// line and a counter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, startRedis, open, routeYaml, sleep } from './lib.mjs';

let redis, gwA, gwB;
const sets = { shared: [], local: [] };

function config() {
  const route = (name, shared) => `
  - name: ${name}
    match: { path_prefix: /${name} }
    hash_key: [ "header:X-Client" ]
    balance_factor: 1.25
    shared_loads: ${shared}
    limits: { ping_interval: 0s }
    backends: [ ${sets[name].map((b) => `"${b.url}"`).join(', ')} ]`;
  return routeYaml(route('shared', true) + route('local', false), {
    extra: `redis: { address: "127.0.0.1:${redis.port}", timeout: 200ms }`,
  });
}

before(async () => {
  for (let i = 1; i <= 5; ++i) sets.shared.push(await startBackend(`s${i}`));
  for (let i = 1; i <= 5; ++i) sets.local.push(await startBackend(`l${i}`));
  redis = await startRedis();
  gwA = await startGateway(config());
  gwB = await startGateway(config());
});

after(async () => {
  await gwA?.stop();
  await gwB?.stop();
  await redis?.stop();
  for (const b of [...sets.shared, ...sets.local]) await b.kill();
});

async function openOn(gw, route) {
  const ws = await open(gw.url('public', `/${route}`), { headers: { 'x-client': 'hot' } });
  ws.send('whoami');
  return { ws, name: (await ws.next()).data.toString() };
}
const tally = (sessions) => sessions.reduce((m, s) => ({ ...m, [s.name]: (m[s.name] ?? 0) + 1 }), {});

// Returns the sessions held at the end through both instances, by backend.
async function hotKey(route) {
  const a = [];
  for (let i = 0; i < 100; ++i) a.push(await openOn(gwA, route));
  const home = Object.entries(tally(a)).sort((x, y) => y[1] - x[1])[0][0];
  for (const s of a.filter((x) => x.name !== home)) s.ws.close();
  const kept = a.filter((x) => x.name === home);
  await sleep(800);  // a few exchanges: B now knows what A holds (with sharing)
  const b = [];
  for (let i = 0; i < 100; ++i) b.push(await openOn(gwB, route));
  const all = [...kept, ...b];
  const counts = tally(all);
  for (const s of all) s.ws.close();
  return { home, counts, total: all.length, onHomeFromA: kept.length };
}

test('sharing, the hot key stays within the bound over both instances; alone, it does not', async (t) => {
  const shared = await hotKey('shared');
  const bound = Math.ceil((1.25 * shared.total) / 5);
  assert.equal(shared.onHomeFromA, 25, `A alone bounds H at 25 of 100 (${JSON.stringify(shared)})`);
  for (const [name, n] of Object.entries(shared.counts))
    assert.ok(n <= bound, `${name} holds ${n} of ${shared.total}, over the bound ${bound}: ${JSON.stringify(shared.counts)}`);
  const local = await hotKey('local');
  const localBound = Math.ceil((1.25 * local.total) / 5);
  t.diagnostic(`bound ${bound}; shared ${JSON.stringify(shared.counts)}; local ${JSON.stringify(local.counts)}`);
  assert.ok(local.counts[local.home] > localBound,
            `without shared_loads H holds ${local.counts[local.home]}, over ${localBound}: ${JSON.stringify(local.counts)}`);
  assert.equal(await gwB.metric('wsgate_shared_loads_fallbacks_total{route="shared"}'), 0);
});

test('Redis down: each instance bounds by its own counts, one line and a counter', async () => {
  await redis.stop();
  await gwB.waitLog(/shared_loads_unavailable/, 5000);
  await sleep(600);
  assert.ok(await gwB.metric('wsgate_shared_loads_fallbacks_total{route="shared"}') >= 2);
  assert.equal(gwB.logs.filter((l) => /shared_loads_unavailable/.test(l)).length, 1, 'one line per outage');
  const s = await openOn(gwB, 'shared');  // still served
  s.ws.close();
  await redis.start();
  await gwB.waitLog(/shared_loads_available/, 10000);
});
