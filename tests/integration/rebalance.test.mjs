// Issue 32: rebalancing after a scale-out (rebalance: { max_per_minute }), through the real binary
// with real dnsmasq and backends on 127.0.0.2-5: when discovery adds two pods, the two old ones
// hold more than their bounded-load share; their oldest sessions beyond it are closed with 1012
// "rebalance", paced at the configured rate, never below the share, and counted. The clients
// reconnect at once, as real ones do, and land where the hash places them now.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, startDnsmasq, open, routeYaml, sleep } from './lib.mjs';

const hostsOf = (ips) => ips.map((ip) => `${ip} rb.wsgate.test`).join('\n') + '\n';
const PER_MINUTE = 300;  // 5 a second
let dns, gw, port;
const backends = [];

async function sessionsOn() {
  const api = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/backends`)).json();
  return Object.fromEntries(api.map((b) => [b.url.replace(/^ws:\/\/|:\d+$/g, ''), b.sessions]));
}

before(async () => {
  const first = await startBackend('w2', { host: '127.0.0.2' });
  port = first.port;
  backends.push(first);
  for (const i of [3, 4, 5]) backends.push(await startBackend(`w${i}`, { host: `127.0.0.${i}`, port }));
  dns = await startDnsmasq({ hosts: hostsOf(['127.0.0.2', '127.0.0.3']) });
  gw = await startGateway(routeYaml(`
  - name: rb
    match: { path_prefix: /rb }
    hash_key: [ "query:k" ]
    balance_factor: 1.25
    rebalance: { max_per_minute: ${PER_MINUTE} }
    limits: { ping_interval: 0s }
    backends: [ { url: "ws://rb.wsgate.test:${port}", discover: dns } ]`, {
    extra: `dns: { nameservers: [ "${dns.address}" ], refresh: 300ms }`,
  }));
  await gw.waitLog(/discovery_changed name=ws:\/\/rb\.wsgate\.test/);
});

after(async () => {
  await gw?.stop();
  await dns?.stop();
  for (const b of backends) await b.kill();
});

test('after a scale-out, the old pods shed their sessions beyond the share, paced, and no further', async () => {
  const total = 40;
  const closes = [];
  let live = 0;
  // A client that reconnects the moment its session is closed, as real ones do.
  const client = async (k) => {
    for (;;) {
      const ws = await open(gw.url('public', `/rb?k=${k}`));
      ++live;
      const closed = await ws.closed;
      --live;
      if (closed.code !== 1012) return;
      closes.push({ k, at: closed.at, reason: closed.reason });
    }
  };
  const clients = [];
  for (let k = 0; k < total; ++k) clients.push(client(`user${k}`));
  while (live < total) await sleep(20);
  const before = await sessionsOn();
  assert.equal((before['127.0.0.2'] ?? 0) + (before['127.0.0.3'] ?? 0), total);
  assert.equal(gw.logs.filter((l) => /session_rebalanced/.test(l)).length, 0, 'balanced: nothing to move');

  dns.write(hostsOf(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']));
  dns.reload();
  await gw.waitLog(/discovery_changed name=ws:\/\/rb\.wsgate\.test:\d+ backends=4 added=2/);
  // Share: ceil(1.25 x 40 / 4) = 13 sessions a backend.
  const share = 13;
  const expected = Math.max(0, before['127.0.0.2'] - share) + Math.max(0, before['127.0.0.3'] - share);
  assert.ok(expected > 0, `the old pods hold ${JSON.stringify(before)}`);
  const deadline = Date.now() + 15000;
  while (closes.length < expected && Date.now() < deadline) await sleep(50);
  await sleep(1500);  // anything more it would close
  assert.equal(closes.length, expected, `closed ${closes.length}, expected ${expected} (${JSON.stringify(before)})`);
  for (const c of closes) assert.equal(c.reason, 'rebalance');
  // Paced: 5 a second, a second's worth at most at once.
  const span = closes[closes.length - 1].at - closes[0].at;
  assert.ok(span >= ((expected - 5) / 5) * 1000 - 300, `${expected} closes took ${span} ms`);
  while (live < total) await sleep(20);
  const after = await sessionsOn();
  for (const ip of ['127.0.0.2', '127.0.0.3'])
    assert.equal(after[ip], Math.min(before[ip], share), `${ip}: never below the share (${JSON.stringify(after)})`);
  assert.ok(after['127.0.0.4'] > 0 && after['127.0.0.5'] > 0, `the new pods took sessions: ${JSON.stringify(after)}`);
  assert.equal(await gw.metric('wsgate_rebalance_closes_total{route="rb"}'), expected);
  assert.equal(await gw.metric('wsgate_session_ends_total{route="rb",cause="rebalance"}'), expected);
  // SIGTERM ends the rest; the clients stop reconnecting on 1001.
  gw.proc.kill('SIGTERM');
  await Promise.all(clients);
});
