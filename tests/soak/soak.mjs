// Soak: mixed traffic through the real binary for a fixed time (connects, messages of every size,
// reconnects, long sessions, rejections 401/404/429), then checks that the gateway's RSS at the
// end is within 5% of its RSS after warm-up and that it holds no more descriptors than before.
//   node tests/soak/soak.mjs [--seconds 1800] [--warmup 180]     (CTest runs --seconds 60)
// Prints one JSON line with the figures; exits 1 if a check fails.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  wsgateBin, tempDir, startBackend, startGateway, connect, routeYaml, sleep, rssKiB,
} from '../integration/lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const seconds = Number(args.seconds ?? 1800);
const warmup = Number(args.warmup ?? Math.min(180, Math.round(seconds / 4)));
const workers = 16;

const dir = tempDir();
const secretFile = path.join(dir, 'soak.secret');
writeFileSync(secretFile, randomBytes(32).toString('base64'));
const token = execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', 'soak', '--iss', 'soak',
                                       '--aud', 'wsgate', '--ttl', '24h'], { encoding: 'utf8' }).trim();
const backend = await startBackend('soak');
const gw = await startGateway(routeYaml(`
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${backend.url}" ] }
  - { name: secure, match: { path_prefix: /secure }, auth: jwt, backends: [ "${backend.url}" ] }
  - { name: limited, match: { path_prefix: /limited }, rate_limit: few, backends: [ "${backend.url}" ] }`, {
  extra: `auth:
  providers:
    - { name: jwt, issuer: soak, audiences: [ wsgate ], algorithms: [ HS256 ], keys: [ { secret_file: ${secretFile} } ] }
rate_limits:
  - { name: few, key: [ "ip" ], upgrades: { rate: 20, per: 1s, burst: 20 } }`,
}), { dir });
const pid = gw.proc.pid;
const fds = () => readdirSync(`/proc/${pid}/fd`).length;

const counts = { sessions: 0, messages: 0, bytes: 0, status: {}, errors: 0 };
const errors = [];
function fail(what) {
  counts.errors++;
  if (errors.length < 10) errors.push(what);
}

// One session: open, send `n` messages of random sizes and check each echo, close.
async function session(url, headers, n) {
  const ws = connect(url, { headers });
  const opened = await ws.opened.then(() => 101, (e) => e.status ?? 'error');
  counts.status[opened] = (counts.status[opened] ?? 0) + 1;
  if (opened !== 101) return opened;
  counts.sessions++;
  for (let i = 0; i < n; i++) {
    const size = Math.random() < 0.9 ? 1 + Math.floor(Math.random() * 512) : 16384 + Math.floor(Math.random() * 65536);
    const payload = randomBytes(size);
    ws.send(payload);
    const echo = await ws.next(10000).catch(() => null);
    if (!echo || !Buffer.from(echo.data).equals(payload)) { fail(`echo ${i} on ${url}`); break; }
    counts.messages++;
    counts.bytes += size;
  }
  ws.close(1000);
  const closed = await ws.closed;
  if (closed.code !== 1000) fail(`close ${closed.code} on ${url}`);
  return 101;
}

async function worker(until) {
  while (Date.now() < until) {
    const r = Math.random();
    let expected;
    let got;
    if (r < 0.6) {
      expected = [101];
      got = await session(gw.url('public', '/echo'), {}, 1 + Math.floor(Math.random() * 30));
    } else if (r < 0.7) {
      expected = [101];
      got = await session(gw.url('public', '/secure'), { authorization: `Bearer ${token}` }, 5);
    } else if (r < 0.8) {
      expected = [401];
      got = await session(gw.url('public', '/secure'), r < 0.75 ? {} : { authorization: `Bearer ${token}x` }, 1);
    } else if (r < 0.9) {
      expected = [404];
      got = await session(gw.url('public', '/nowhere'), {}, 1);
    } else {
      expected = [101, 429];
      got = await session(gw.url('public', '/limited'), {}, 2);
    }
    if (!expected.includes(got)) fail(`status ${got}, expected ${expected}`);
  }
}

// Long sessions, reconnecting every 5-15 s, a message every 100 ms.
async function longSession(until) {
  while (Date.now() < until) {
    const ws = connect(gw.url('public', '/echo/long'));
    if (await ws.opened.then(() => false, () => true)) { fail('long session refused'); await sleep(1000); continue; }
    const end = Math.min(until, Date.now() + 5000 + Math.random() * 10000);
    for (let i = 0; Date.now() < end; i++) {
      ws.send(`tick ${i}`);
      const echo = await ws.next(10000).catch(() => null);
      if (echo?.data.toString() !== `tick ${i}`) { fail('long session echo'); break; }
      counts.messages++;
      await sleep(100);
    }
    ws.close(1000);
    await ws.closed;
  }
}

const fdsBefore = fds();
const started = Date.now();
const until = started + seconds * 1000;
const traffic = [...Array.from({ length: workers }, () => worker(until)),
                 ...Array.from({ length: 8 }, () => longSession(until))];
await sleep(warmup * 1000);
const rssWarm = rssKiB(pid);
const samples = [];
const sampler = setInterval(() => samples.push(rssKiB(pid)), 5000);
// The end figure is taken under the same traffic as the warm-up one, just before it stops.
await sleep(Math.max(0, until - Date.now() - 1000));
const rssEnd = rssKiB(pid);
clearInterval(sampler);
await Promise.all(traffic);
// Every session has ended: the gateway should be back to its listening descriptors.
let fdsAfter = fds();
for (const deadline = Date.now() + 5000; fdsAfter > fdsBefore && Date.now() < deadline; fdsAfter = fds()) await sleep(100);
const stillAlive = gw.proc.exitCode === null;
await gw.stop();
await backend.kill();

const ratio = rssEnd / rssWarm;
const result = {
  seconds, warmup_seconds: warmup, sessions: counts.sessions, messages: counts.messages,
  mbytes: Math.round(counts.bytes / 1e6), statuses: counts.status, errors: counts.errors,
  rss_warm_kib: rssWarm, rss_end_kib: rssEnd, rss_ratio: Number(ratio.toFixed(4)),
  rss_max_kib: Math.max(rssWarm, rssEnd, ...samples), fds_before: fdsBefore, fds_after: fdsAfter,
};
console.log(JSON.stringify(result));
const problems = [];
if (!stillAlive) problems.push('wsgate exited during the soak');
if (counts.errors) problems.push(`${counts.errors} errors: ${errors.join('; ')}`);
if (ratio > 1.05) problems.push(`RSS grew ${((ratio - 1) * 100).toFixed(1)}% after warm-up (limit 5%)`);
if (fdsAfter !== fdsBefore) problems.push(`descriptors: ${fdsBefore} before, ${fdsAfter} after`);
if (!counts.status[404] || !counts.status[401]) problems.push('the mix produced no rejections');
if (problems.length) {
  console.error(`soak failed: ${problems.join('; ')}`);
  process.exit(1);
}
process.exit(0);
