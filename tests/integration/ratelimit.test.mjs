// Rate limits through the real binary: upgrades per window answered 429 with Retry-After, the
// concurrent-session cap per key across io threads, keys kept apart, and a reload that changes the
// limits without refilling the buckets already spent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, open, connect, routeYaml, sleep } from './lib.mjs';

let backend, gw;

function config(upgrades = '{ rate: 3, per: 1m, burst: 3 }') {
  return routeYaml(`
  - { name: limited, match: { path_prefix: /limited }, rate_limit: per-client, backends: [ "${backend.url}" ] }
  - { name: capped, match: { path_prefix: /capped }, rate_limit: two-sessions, backends: [ "${backend.url}" ] }
  - { name: single, match: { path_prefix: /single }, rate_limit: one-session, backends: [ "${backend.url}" ] }`, { extra: `rate_limits:
  - name: one-session
    key: [ "header:X-Client" ]
    max_sessions: 1
    upgrades: { rate: 2, per: 1h, burst: 2 }
  - name: per-client
    key: [ "header:X-Client", "ip" ]
    upgrades: ${upgrades}
  - name: two-sessions
    key: [ "header:X-Client" ]
    max_sessions: 2` });
}

before(async () => {
  backend = await startBackend('w1');
  gw = await startGateway(config());
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

async function status(pathname, client) {
  const ws = connect(gw.url('public', pathname), { headers: { 'x-client': client } });
  return ws.opened.then(() => { ws.close(); return { status: 101 }; },
                        (err) => ({ status: err.status, retryAfter: err.headers?.['retry-after'] }));
}

test('upgrades over the rate get 429 with Retry-After; another key is not affected', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await status('/limited', 'alice')).status, 101);
  const refused = await status('/limited', 'alice');
  assert.equal(refused.status, 429);
  // 3 a minute: the next credit comes 20 s after the burst was spent.
  const seconds = Number(refused.retryAfter);
  assert.ok(seconds >= 19 && seconds <= 20, `Retry-After ${refused.retryAfter}`);
  await gw.waitLog(/request_rejected status=429 route=limited .*reason="upgrade rate limit"/);
  assert.equal((await status('/limited', 'bob')).status, 101);
});

test('a reload changes the limits but does not refill what a key has spent', async () => {
  gw.writeConfig(config('{ rate: 6, per: 1m, burst: 3 }'));
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/config_reloaded/);
  const refused = await status('/limited', 'alice');
  assert.equal(refused.status, 429, 'alice spent her burst before the reload');
  // The bucket keeps its schedule (60 s of debt from three upgrades at 20 s each); the new interval
  // (10 s) applies to the next decision: 60 + 10 - 30 (tolerance, 3 x 10 s) = 40 s.
  const seconds = Number(refused.retryAfter);
  assert.ok(seconds >= 39 && seconds <= 40, `Retry-After ${refused.retryAfter} under the new rate`);
});

test('the concurrent-session cap holds across io threads and frees a slot when a session ends', async () => {
  const open1 = await open(gw.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
  const open2 = await open(gw.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
  // Several tries: they land on both io threads (SO_REUSEPORT), and none may pass.
  for (let i = 0; i < 6; i++) assert.equal((await status('/capped', 'carol')).status, 429);
  await gw.waitLog(/request_rejected status=429 route=capped .*reason="concurrent session limit"/);
  assert.equal((await status('/capped', 'dave')).status, 101, 'another key has its own cap');
  open1.close();
  await open1.closed;
  let admitted = 0;
  for (let i = 0; i < 20 && admitted === 0; i++) {
    await sleep(50);  // the gateway sees the close a moment after the client does
    const third = connect(gw.url('public', '/capped'), { headers: { 'x-client': 'carol' } });
    admitted = await third.opened.then(() => 1, () => 0);
    if (admitted) {
      third.send('whoami');
      assert.equal((await third.next()).data.toString(), 'w1');
      third.close();
    }
  }
  assert.equal(admitted, 1, 'the freed slot is usable');
  open2.close();
});

test('a refusal at the session cap spends no upgrade credit', async () => {
  // Two upgrades an hour and one session at a time: one held, four refused at the cap, then the
  // session ends and the key's second credit must still be there.
  const held = await open(gw.url('public', '/single'), { headers: { 'x-client': 'hank' } });
  for (let i = 0; i < 4; i++) assert.equal((await status('/single', 'hank')).status, 429);
  await gw.waitLog(/request_rejected status=429 route=single .*reason="concurrent session limit"/);
  assert.ok(!gw.logs.some((l) => /route=single .*reason="upgrade rate limit"/.test(l)), 'refused by the cap, not the rate');
  held.close();
  await held.closed;
  let result;
  const deadline = Date.now() + 10000;
  do {
    await sleep(50);  // the gateway frees the slot a moment after the client sees the close
    result = await status('/single', 'hank');
  } while (result.status === 429 && Date.now() < deadline &&
           !gw.logs.some((l) => /route=single .*reason="upgrade rate limit"/.test(l)));
  assert.equal(result.status, 101, 'the second credit was not spent by the refusals');
  assert.equal((await status('/single', 'hank')).status, 429, 'and now it is');
});
