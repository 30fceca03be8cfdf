// Shared rate limits through a real redis-server: two wsgate processes on one budget (upgrades and
// the session cap), the accuracy of a shared 100/s, and Redis stopped mid-run under fail_open and
// fail_closed, then back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, startRedis, connect, open, routeYaml, sleep } from './lib.mjs';

let backend, redis, gwA, gwB;

function config() {
  const route = (name, policy) =>
    `\n  - { name: ${name}, match: { path_prefix: /${name} }, rate_limit: ${policy}, backends: [ "${backend.url}" ] }`;
  return routeYaml(route('shared', 'shared') + route('capped', 'capped') + route('single', 'single') + route('accuracy', 'fast') +
                   route('open', 'open') + route('closed', 'closed') +
                   route('credit', 'credit') + route('recount', 'recount'), { extra: `redis:
  address: 127.0.0.1:${redis.port}
  timeout: 200ms
  session_lease: 3s
rate_limits:
  - { name: shared, key: [ "header:X-Client" ], store: redis, upgrades: { rate: 6, per: 1m, burst: 4 } }
  - { name: capped, key: [ "header:X-Client" ], store: redis, max_sessions: 2 }
  - { name: single, key: [ "header:X-Client" ], store: redis, max_sessions: 1 }
  - { name: fast, key: [ "header:X-Client" ], store: redis, upgrades: { rate: 100, per: 1s, burst: 20 } }
  - { name: open, key: [ "header:X-Client" ], store: redis, on_store_failure: fail_open, upgrades: { rate: 1, per: 1m, burst: 1000 } }
  - { name: closed, key: [ "header:X-Client" ], store: redis, on_store_failure: fail_closed, upgrades: { rate: 1, per: 1m, burst: 1000 } }
  - { name: credit, key: [ "header:X-Client" ], store: redis, max_sessions: 1, upgrades: { rate: 2, per: 1h, burst: 2 } }
  - { name: recount, key: [ "header:X-Client" ], store: redis, on_store_failure: fail_open, max_sessions: 3 }` });
}

before(async () => {
  backend = await startBackend('w1');
  redis = await startRedis();
  gwA = await startGateway(config());
  gwB = await startGateway(config());
});

after(async () => {
  await gwA?.stop();
  await gwB?.stop();
  await redis?.stop();
  await backend?.kill();
});

async function attempt(gw, pathname, client) {
  const ws = connect(gw.url('public', pathname), { headers: { 'x-client': client } });
  return ws.opened.then(() => { ws.close(); return { status: 101 }; },
                        (err) => ({ status: err.status, retryAfter: err.headers?.['retry-after'] }));
}

test('two gateways share one upgrade budget per key', async () => {
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await attempt(i % 2 ? gwB : gwA, '/shared', 'alice')).status);
  assert.deepEqual(statuses, [101, 101, 101, 101, 429, 429], 'a burst of 4 over both instances');
  const refused = await attempt(gwB, '/shared', 'alice');
  const seconds = Number(refused.retryAfter);
  assert.ok(seconds >= 9 && seconds <= 10, `Retry-After ${refused.retryAfter}: 6 a minute`);
  assert.equal((await attempt(gwA, '/shared', 'bob')).status, 101, 'another key has its own budget');
});

test('the concurrent-session cap counts sessions on both gateways and frees on close', async () => {
  const a = await open(gwA.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
  const b = await open(gwB.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
  assert.equal((await attempt(gwA, '/capped', 'carol')).status, 429);
  assert.equal((await attempt(gwB, '/capped', 'carol')).status, 429);
  await gwB.waitLog(/request_rejected status=429 route=capped .*reason="concurrent session limit"/);
  b.close();
  await b.closed;
  let status = 0;
  // The gateway removes the session from Redis a moment after the client sees the close.
  for (const deadline = Date.now() + 10000; status !== 101 && Date.now() < deadline;) {
    await sleep(50);
    const ws = connect(gwA.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
    status = await ws.opened.then(() => { ws.send('whoami'); return 101; }, (e) => e.status);
    if (status === 101) { assert.equal((await ws.next()).data.toString(), 'w1'); ws.close(); }
  }
  assert.equal(status, 101, 'the slot freed on gateway B is usable through gateway A');
  a.close();
});

test('accuracy: 100/s with a burst of 20, hammered through both gateways for 10 s, admits 1000-1040', async () => {
  const start = Date.now();
  let admitted = 0, refused = 0, other = 0;
  const worker = async (i) => {
    for (let n = 0; Date.now() - start < 10000; n++) {
      const { status } = await attempt(n % 2 === i % 2 ? gwA : gwB, '/accuracy', 'dora');
      if (status === 101) admitted++; else if (status === 429) refused++; else other++;
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
  console.log(`redis accuracy: admitted ${admitted}, refused ${refused}, other ${other} in 10 s`);
  assert.equal(other, 0);
  // The clients must offer more than the limit, or admitting all would pass; how much more depends
  // on how fast this machine runs them (busy: 1,806 attempts in 10 s), not on the gateway.
  assert.ok(refused >= 100, `the clients pushed harder than the limit (${refused} refused)`);
  assert.ok(admitted >= 1000 && admitted <= 1040, `admitted ${admitted}`);
});

test('Redis stopped: fail_open admits, fail_closed answers 503, one log line per outage; back when Redis is', async () => {
  assert.equal((await attempt(gwA, '/closed', 'erin')).status, 101);
  await redis.stop();
  assert.equal((await attempt(gwA, '/open', 'erin')).status, 101, 'fail_open');
  const closed = await attempt(gwA, '/closed', 'erin');
  assert.equal(closed.status, 503, 'fail_closed');
  await gwA.waitLog(/request_rejected status=503 route=closed .*reason="rate limit store unavailable"/);
  for (let i = 0; i < 5; i++) await attempt(gwA, '/open', 'erin');
  await sleep(500);  // several reconnect attempts fail meanwhile
  assert.equal(gwA.logs.filter((l) => / redis_unavailable /.test(l)).length, 1, 'one line for the outage');
  await redis.start();
  await gwA.waitLog(/ redis_available /, 8000);
  assert.equal((await attempt(gwA, '/closed', 'erin')).status, 101, 'decisions go through Redis again');
});

test('a refusal at the session cap spends no shared upgrade credit', async () => {
  const held = await open(gwA.url('public', '/credit'), { headers: { 'x-client': 'ivy' } });
  for (let i = 0; i < 4; i++) assert.equal((await attempt(i % 2 ? gwB : gwA, '/credit', 'ivy')).status, 429);
  held.close();
  await held.closed;
  let status = 429;
  const deadline = Date.now() + 10000;
  while (status === 429 && Date.now() < deadline) {
    await sleep(50);
    status = (await attempt(gwB, '/credit', 'ivy')).status;
    if (gwB.logs.some((l) => /route=credit .*reason="upgrade rate limit"/.test(l))) break;
  }
  assert.equal(status, 101, 'the key\'s second credit survived four refusals at the cap');
  assert.ok(!gwA.logs.concat(gwB.logs).some((l) => /route=credit .*reason="upgrade rate limit"/.test(l)));
});

test('sessions admitted while Redis was down are counted once it is back', async () => {
  const availableLines = (gw) => gw.logs.filter((l) => / redis_available /.test(l)).length;
  const seenA = availableLines(gwA), seenB = availableLines(gwB);
  await redis.stop();
  const sessions = [];
  for (let i = 0; i < 9; i++)
    sessions.push(await open((i % 2 ? gwB : gwA).url('public', '/recount'), { headers: { 'x-client': 'jay' } }));
  await redis.start();
  const deadline0 = Date.now() + 8000;
  while ((availableLines(gwA) === seenA || availableLines(gwB) === seenB) && Date.now() < deadline0) await sleep(50);
  assert.ok(availableLines(gwA) > seenA && availableLines(gwB) > seenB, 'both gateways saw Redis return');
  assert.equal((await attempt(gwA, '/recount', 'jay')).status, 429, 'nine live sessions: over the cap of 3');
  assert.equal((await attempt(gwB, '/recount', 'jay')).status, 429);
  for (const ws of sessions.slice(0, 7)) { ws.close(); await ws.closed; }
  // Polled: each gateway frees its sessions' leases a moment after the clients see their closes.
  const admitted = async (gw) => {
    let status = 429;
    const deadline = Date.now() + 10000;
    while (status === 429 && Date.now() < deadline) {
      await sleep(100);
      status = (await attempt(gw, '/recount', 'jay')).status;
    }
    return status;
  };
  assert.equal(await admitted(gwA), 101, 'two left: room for one more');
  assert.equal(await admitted(gwB), 101, 'and on the other gateway too');
  for (const ws of sessions.slice(7)) ws.close();
});

test('a live session stays counted past its lease; a crashed gateway\'s sessions expire with theirs', async () => {
  const ws = await open(gwA.url('public', '/single'), { headers: { 'x-client': 'gus' } });
  await sleep(4000);  // longer than the 3 s lease: only renewal keeps it counted
  assert.equal((await attempt(gwB, '/single', 'gus')).status, 429, 'renewed while alive');
  gwA.proc.kill('SIGKILL');
  await gwA.exited;
  await ws.closed;
  let status = 0;
  const killedAt = Date.now();
  while (status !== 101 && Date.now() - killedAt < 6000) {
    await sleep(250);
    status = (await attempt(gwB, '/single', 'gus')).status;
  }
  assert.equal(status, 101, 'the dead gateway\'s session expired with its lease');
});
