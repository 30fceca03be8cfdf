// Issue 32: backends discovered by DNS (discover: dns and srv) through the real binary, with real
// dnsmasq as the name server and real backends on 127.0.0.2-9 sharing one port: every address is
// used, a pod added takes new sessions without moving anyone, a pod removed gets 1012, an outage
// keeps the last set, a name created after the gateway fills its route in, SRV weights and
// priorities hold, and two instances agree on every key whatever order DNS answers in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { startBackend, startGateway, startDnsmasq, open, connect, routeYaml, sleep, tempDir, makeCert } from './lib.mjs';
import { startChromium, until as browserUntil } from './browser.mjs';

const hostsOf = (pods) => pods.map((ip) => `${ip} pods.wsgate.test`).join('\n') +
  '\n127.0.0.5 a.wsgate.test\n127.0.0.6 b.wsgate.test\n127.0.0.7 c.wsgate.test\n';
let dns, gw, port, cert;
const cleanup = [];
const backends = {};

async function whoami(path) {
  const ws = await open(gw.url('public', path));
  ws.send('whoami');
  const name = (await ws.next()).data.toString();
  return { ws, name };
}
async function names(prefix, keys) {
  const out = [];
  for (const k of keys) {
    const { ws, name } = await whoami(`${prefix}?k=${k}`);
    ws.close();
    out.push(name);
  }
  return out;
}
const range = (n, from = 0) => Array.from({ length: n }, (_, i) => `key${from + i}`);
async function until(what, check, ms = 8000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function yaml(dnsAddress) {
  return routeYaml(`
  - name: pods
    match: { path_prefix: /pods }
    hash_key: [ "query:k" ]
    backends: [ { url: "ws://pods.wsgate.test:${port}", discover: dns } ]
  - name: srv
    match: { path_prefix: /srv }
    hash_key: [ "query:k" ]
    backends: [ { url: "ws://_ws._tcp.svc.wsgate.test", discover: srv } ]
  - name: late
    match: { path_prefix: /late }
    backends: [ { url: "ws://late.wsgate.test:${port}", discover: dns } ]`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - { name: secure, bind: "127.0.0.1:0", http2: false, tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] } }`,
    extra: `dns: { nameservers: [ "${dnsAddress}" ], refresh: 500ms, timeout: 300ms }`,
  });
}

before(async () => {
  cert = makeCert(tempDir(), 'gw', ['localhost']);
  // One port on 127.0.0.2-7: the first picks it, the others join it.
  const first = await startBackend('w2', { host: '127.0.0.2' });
  port = first.port;
  backends.w2 = first;
  for (const i of [3, 4, 5, 6, 7]) backends[`w${i}`] = await startBackend(`w${i}`, { host: `127.0.0.${i}`, port });
  dns = await startDnsmasq({
    hosts: hostsOf(['127.0.0.2', '127.0.0.3', '127.0.0.4']),
    // priority 0: a (weight 10) and b (weight 30) share; c at priority 1 is only a fallback.
    srv: [`_ws._tcp.svc.wsgate.test,a.wsgate.test,${port},0,10`, `_ws._tcp.svc.wsgate.test,b.wsgate.test,${port},0,30`,
          `_ws._tcp.svc.wsgate.test,c.wsgate.test,${port},1,100`],
  });
  gw = await startGateway(yaml(dns.address));
  await gw.waitLog(/discovery_changed name=ws:\/\/pods\.wsgate\.test/);
  await gw.waitLog(/discovery_changed name=ws:\/\/_ws\._tcp\.svc\.wsgate\.test/);
});

after(async () => {
  for (const c of cleanup.reverse()) await c();
  await gw?.stop();
  await dns?.stop();
  for (const b of Object.values(backends)) await b.kill();
});

test('every address of the name is a backend, known by its address', async () => {
  const seen = new Set(await names('/pods', range(40)));
  assert.deepEqual([...seen].sort(), ['w2', 'w3', 'w4']);
  const api = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/backends`)).json();
  const urls = api.map((b) => b.url).filter((u) => u.includes(`:${port}`)).sort();
  assert.ok(urls.includes(`ws://127.0.0.2:${port}`) && urls.includes(`ws://127.0.0.4:${port}`), urls.join());
  const pods = api.filter((b) => b.discovered_from === `ws://pods.wsgate.test:${port}`).map((b) => b.url);
  assert.deepEqual(pods, [2, 3, 4].map((i) => `ws://127.0.0.${i}:${port}`), 'grouped under their name, in order');
  assert.equal(await gw.metric('wsgate_discovery_backends{name="ws://pods.wsgate.test:'), 3);
});

test('the status page, in Chromium, shows discovered backends under the name they came from', async () => {
  const browser = await startChromium(cleanup);
  await browser.send('Page.enable');
  await browser.send('Page.navigate', { url: `http://127.0.0.1:${gw.ports.admin}/` });
  await browserUntil('the backends drawn', () => browser.evaluate('document.querySelectorAll("tr[data-backend]").length >= 5'));
  const rows = await browser.evaluate(`[...document.querySelectorAll("tr[data-backend]")].map((tr) => [tr.dataset.backend,
    tr.querySelector("[data-discovered-from]")?.dataset.discoveredFrom ?? null])`);
  const pods = rows.filter(([, from]) => from === `ws://pods.wsgate.test:${port}`).map(([url]) => url);
  assert.deepEqual(pods, [2, 3, 4].map((i) => `ws://127.0.0.${i}:${port}`), JSON.stringify(rows));
  const srv = rows.filter(([, from]) => from === 'ws://_ws._tcp.svc.wsgate.test').map(([url]) => url);
  assert.deepEqual(srv, [5, 6].map((i) => `ws://127.0.0.${i}:${port}`));
  const text = await browser.evaluate('document.querySelector("#backends").innerText');
  assert.match(text, /from ws:\/\/pods\.wsgate\.test:\d+/);
});

test('SRV: the lowest priority only, shared by weight', async () => {
  const got = await names('/srv', range(200));
  const count = (n) => got.filter((x) => x === n).length;
  assert.equal(count('w7'), 0, 'priority 1 is not used while priority 0 answers');
  assert.ok(count('w6') > 2 * count('w5'), `weights 30:10 give ${count('w6')}:${count('w5')}`);
  assert.equal(count('w5') + count('w6'), 200);
});

test('a pod added takes new sessions within refresh + 1 s, and no session moves', async () => {
  const keys = range(60, 100);
  const held = [];
  for (const k of keys) held.push({ k, ...(await whoami(`/pods?k=${k}`)) });
  const closed = held.map((h) => h.ws.closed.then(() => h.k));
  dns.write(hostsOf(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']));
  dns.reload();
  const t0 = Date.now();
  await gw.waitLog(/discovery_changed name=ws:\/\/pods\.wsgate\.test:\d+ backends=4 added=1 removed=0/, 5000);
  assert.ok(Date.now() - t0 < 1500, `seen after ${Date.now() - t0} ms`);
  const now = await names('/pods', keys);
  const moved = keys.filter((k, i) => now[i] !== held[i].name);
  assert.ok(moved.length > 0, 'the new pod took some keys');
  for (const k of moved) assert.equal(now[keys.indexOf(k)], 'w5', `${k} moved, but not to the new pod`);
  assert.ok(moved.length < keys.length / 2, `${moved.length} of ${keys.length} keys moved (about 1/4 expected)`);
  // The gateway's own count over its fixed sample of 10,000 keys: one pod of four joined.
  const sampled = await gw.metric('wsgate_discovery_keys_sampled_total{route="pods"}');
  const movedShare = (await gw.metric('wsgate_discovery_keys_moved_total{route="pods"}')) / sampled;
  assert.equal(sampled, 10000);
  assert.ok(movedShare > 0.18 && movedShare < 0.32, `a change moved ${movedShare} of the keys (1/4 ideal)`);
  const early = await Promise.race([Promise.any(closed), sleep(300).then(() => null)]);
  assert.equal(early, null, 'no live session was closed by the scale-out');
  for (const h of held) {
    h.ws.send('whoami');
    assert.equal((await h.ws.next()).data.toString(), h.name);
    h.ws.close();
  }
});

test('a pod removed: its sessions get 1012, the others go on', async () => {
  const held = [];
  for (const k of range(40, 200)) held.push(await whoami(`/pods?k=${k}`));
  const onW3 = held.filter((h) => h.name === 'w3');
  assert.ok(onW3.length > 0);
  dns.write(hostsOf(['127.0.0.2', '127.0.0.4', '127.0.0.5']));
  dns.reload();
  for (const h of onW3) assert.equal((await h.ws.closed).code, 1012);
  for (const h of held.filter((x) => x.name !== 'w3')) {
    h.ws.send('whoami');
    assert.equal((await h.ws.next()).data.toString(), h.name);
    h.ws.close();
  }
  assert.ok(!(await names('/pods', range(30, 300))).includes('w3'));
  await until('backend_removed', () => gw.logs.some((l) => /backend_removed backend=ws:\/\/127\.0\.0\.3:\d+ why=discovery/.test(l)));
});

test('DNS down: the last set stays, one line for the outage, lookups counted', async () => {
  await dns.stop();
  await gw.waitLog(/discovery_failed name=ws:\/\/pods\.wsgate\.test:\d+ result=\w+ kept_backends=3/, 5000);
  await sleep(1500);  // several failed lookups
  const seen = new Set(await names('/pods', range(30)));
  assert.deepEqual([...seen].sort(), ['w2', 'w4', 'w5']);
  assert.equal(gw.logs.filter((l) => /discovery_failed name=ws:\/\/pods/.test(l)).length, 1, 'one line per outage');
  const failed = await gw.metric('wsgate_discovery_lookups_total{name="ws://pods.wsgate.test:') -
                 await gw.metric(`wsgate_discovery_lookups_total{name="ws://pods.wsgate.test:${port}",result="ok"}`);
  assert.ok(failed >= 2, `${failed} failed lookups counted`);
  await dns.start();
  await gw.waitLog(/discovery_recovered name=ws:\/\/pods/, 10000);
});

test('a name that does not resolve at start: 503, then filled in by the first answer', async () => {
  const refused = connect(gw.url('public', '/late'));
  await assert.rejects(refused.opened, (e) => e.status === 503 && e.headers['retry-after'] === '1');
  dns.write(hostsOf(['127.0.0.2', '127.0.0.4', '127.0.0.5']) + '127.0.0.6 late.wsgate.test\n');
  dns.reload();
  await until('the late route', async () => {
    try { const { ws, name } = await whoami('/late'); ws.close(); return name === 'w6'; } catch { return false; }
  }, 40000);
});

test('two instances agree on every key when DNS answers in another order', async () => {
  const dir = tempDir();
  const other = await startDnsmasq({ dir, hosts: ['127.0.0.5', '127.0.0.4', '127.0.0.2'].map((ip) => `${ip} pods.wsgate.test`).join('\n') + '\n' });
  const gw2 = await startGateway(yaml(other.address));
  try {
    await gw2.waitLog(/discovery_changed name=ws:\/\/pods\.wsgate\.test/);
    const keys = range(50, 500);
    const mine = await names('/pods', keys);
    const theirs = [];
    for (const k of keys) {
      const ws = await open(gw2.url('public', `/pods?k=${k}`));
      ws.send('whoami');
      theirs.push((await ws.next()).data.toString());
      ws.close();
    }
    assert.deepEqual(theirs, mine);
  } finally {
    await gw2.stop();
    await other.stop();
  }
});

// A discovered set that changes rebuilds the routes, not the listeners: the TLS contexts stay, so
// a session ticket issued before the change still resumes after it (they were built anew, with
// new ticket keys, on every DNS change).
test('a TLS session ticket from before a DNS change resumes after it', async () => {
  const handshake = (session) => new Promise((resolve, reject) => {
    const s = tls.connect({ port: gw.ports.secure, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false,
                            session });
    let ticket = null;
    let reused = false;
    s.on('session', (t) => { ticket = t; });
    s.on('secureConnect', () => { reused = s.isSessionReused(); s.write('GET /pods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'); });
    s.on('data', () => {});
    s.on('error', reject);
    s.on('close', () => resolve({ ticket, reused }));
  });
  const first = await handshake();
  assert.ok(first.ticket);
  const changes = gw.logs.filter((l) => /discovery_changed name=ws:\/\/pods/.test(l)).length;
  dns.write(hostsOf(['127.0.0.2', '127.0.0.4', '127.0.0.5', '127.0.0.6']));
  dns.reload();
  await until('the change', () => gw.logs.filter((l) => /discovery_changed name=ws:\/\/pods/.test(l)).length > changes);
  assert.equal((await handshake(first.ticket)).reused, true);
});
