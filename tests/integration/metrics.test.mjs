// Metrics through the real binary and a real Prometheus (Debian's) scraping it with the shipped
// deploy/prometheus.yml: clients connect, talk, close and are refused, and the values Prometheus
// stored must be exactly what they did. Also: promtool accepts the exposition and the config, and
// every PromQL expression of the shipped Grafana dashboard runs and names only exported metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wsgateBin, root, tempDir, startBackend, startGateway, startPrometheus, connect, open, routeYaml,
         freePort, sleep, makeCert, rssKiB } from './lib.mjs';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

let dir, secretFile, otherSecret, backend, doomed, deadUrl, checkedDeadUrl, gw, prom, yaml, cert;

function token(secret = secretFile) {
  return execFileSync(wsgateBin, ['token', '--secret-file', secret, '--sub', 'alice', '--iss', 'wsgate-dev',
                                  '--aud', 'wsgate'], { encoding: 'utf8' }).trim();
}

async function metricsText() {
  const res = await fetch(`http://127.0.0.1:${gw.ports.admin}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return res.text();
}

// The samples of the exposition whose line starts with `prefix`, summed.
function sumOf(text, prefix) {
  return text.split('\n').filter((l) => l.startsWith(prefix)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

async function refused(url, options) {
  const ws = connect(url, options);
  return ws.opened.then(() => { ws.close(); return 101; }, (err) => err.status);
}

before(async () => {
  dir = tempDir();
  secretFile = path.join(dir, 'dev.secret');
  otherSecret = path.join(dir, 'other.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64'));
  writeFileSync(otherSecret, randomBytes(48).toString('base64'));
  backend = await startBackend('w1');
  doomed = await startBackend('w2');  // killed under a live session
  deadUrl = `ws://127.0.0.1:${await freePort()}`;  // nothing listens there
  checkedDeadUrl = `ws://127.0.0.1:${await freePort()}`;
  cert = makeCert(dir, 'gw', ['localhost']);
  yaml = routeYaml(`
  - { name: chat, match: { path_prefix: /talk }, auth: dev, backends: [ "${backend.url}" ] }
  - { name: limited, match: { path_prefix: /limited }, rate_limit: two, backends: [ "${backend.url}" ] }
  - { name: dead, match: { path_prefix: /dead }, backends: [ "${deadUrl}" ] }
  - { name: ends, match: { path_prefix: /ends }, limits: { idle_timeout: 2s, ping_interval: 0s, max_message: 1KiB },
      backends: [ "${backend.url}" ] }
  - { name: gone, match: { path_prefix: /gone }, backends: [ "${doomed.url}" ] }
  - { name: pinged, match: { path_prefix: /pinged }, limits: { ping_interval: 1s, pong_timeout: 5s },
      backends: [ "${backend.url}" ] }
  - { name: checked, match: { path_prefix: /checked }, backends: [ "${backend.url}", "${checkedDeadUrl}" ],
      health_check: { type: http, path: /healthz, interval: 300ms, timeout: 1s } }`, {
    listeners: `  - { name: public, bind: "127.0.0.1:0" }
  - { name: secure, bind: "127.0.0.1:0", tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] } }`,
    extra: `auth:
  providers:
    - name: dev
      issuer: wsgate-dev
      audiences: [ wsgate ]
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]
rate_limits:
  - { name: two, key: [ ip ], upgrades: { rate: 2, per: 1m, burst: 2 } }` });
  gw = await startGateway(yaml, { dir });
  prom = await startPrometheus(`127.0.0.1:${gw.ports.admin}`);
});

after(async () => {
  await prom?.stop();
  await gw?.stop();
  await backend?.kill();
  await doomed?.kill();
});

test('Prometheus stores exactly what the clients did', async () => {
  const auth = { headers: { authorization: `Bearer ${token()}` } };
  const talkers = [];
  for (let i = 0; i < 4; i++) talkers.push(await open(gw.url('public', '/talk'), auth));
  for (const ws of talkers) {
    for (let m = 0; m < 5; m++) {
      ws.send(`message-${m}-x`);  // 11 bytes
      assert.equal((await ws.next()).data.toString(), `message-${m}-x`);
    }
  }
  await prom.freshScrape();
  assert.deepEqual(await prom.query('wsgate_sessions_active{route=~"chat|dead|limited"}'),
                   { [`backend=${backend.url},route=chat`]: 4, [`backend=${deadUrl},route=dead`]: 0,
                     [`backend=${backend.url},route=limited`]: 0 });
  // Open connections per listener: the four upgraded ones.
  assert.deepEqual(await prom.query('wsgate_connections_open'), { 'listener=public': 4, 'listener=secure': 0 });
  for (const ws of talkers) { ws.close(1000); await ws.closed; }

  for (let i = 0; i < 3; i++) assert.equal(await refused(gw.url('public', '/talk')), 401);
  const forged = { headers: { authorization: `Bearer ${token(otherSecret)}` } };
  for (let i = 0; i < 2; i++) assert.equal(await refused(gw.url('public', '/talk'), forged), 401);
  for (let i = 0; i < 2; i++) assert.equal(await refused(gw.url('public', '/nowhere')), 404);
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    const ws = connect(gw.url('public', '/limited'));
    statuses.push(await ws.opened.then(async () => { ws.close(1000); await ws.closed; return 101; },
                                       (err) => err.status));
  }
  assert.deepEqual(statuses, [101, 101, 429, 429]);
  assert.equal(await refused(gw.url('public', '/dead')), 502);
  // Connection: close, so that no idle keep-alive connection stays in wsgate_connections_open.
  const plain = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: gw.ports.public, path: '/limited/info', headers: { connection: 'close' } },
             (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }).on('error', reject);
  });
  assert.equal(plain, 200);

  // Every session has ended at the gateway, then Prometheus scrapes once more.
  for (let i = 0; i < 50 && sumOf(await metricsText(), 'wsgate_sessions_active{') !== 0; i++) await sleep(100);
  await prom.freshScrape();

  assert.deepEqual(await prom.query('wsgate_upgrades_total > 0'), {
    'result=ok,route=chat': 4, 'result=unauthorized,route=chat': 5, 'result=no_route': 2,
    'result=ok,route=limited': 2, 'result=rate_limited,route=limited': 2, 'result=no_backend,route=dead': 1,
  });
  assert.deepEqual(await prom.query('wsgate_http_requests_total > 0'), { 'result=ok,route=limited': 1 });
  assert.deepEqual(await prom.query('wsgate_auth_failures_total > 0'),
                   { 'reason=missing_token,route=chat': 3, 'reason=bad_signature,route=chat': 2 });
  assert.deepEqual(await prom.query('wsgate_messages_total > 0'),
                   { 'direction=client_to_backend,route=chat': 20, 'direction=backend_to_client,route=chat': 20 });
  // Client frames: 2 + 4 (mask) + 11 bytes, and the close (2 + 4 + 2); the backend's: 2 + 11 and 2 + 2.
  assert.deepEqual(await prom.query('wsgate_bytes_total{route="chat"}'),
                   { 'direction=client_to_backend,route=chat': 20 * 17 + 4 * 8,
                     'direction=backend_to_client,route=chat': 20 * 13 + 4 * 4 });
  // The same, split by backend: their sums are the route's.
  assert.deepEqual(await prom.query('sum by (route, direction) (wsgate_backend_messages_total) > 0'),
                   { 'direction=client_to_backend,route=chat': 20, 'direction=backend_to_client,route=chat': 20 });
  assert.deepEqual(await prom.query('sum by (route, direction) (wsgate_backend_bytes_total{route="chat"})'),
                   { 'direction=client_to_backend,route=chat': 20 * 17 + 4 * 8,
                     'direction=backend_to_client,route=chat': 20 * 13 + 4 * 4 });
  assert.deepEqual(await prom.query('wsgate_message_size_bytes_bucket{route="chat",le="64"}'),
                   { 'direction=client_to_backend,le=64,route=chat': 20, 'direction=backend_to_client,le=64,route=chat': 20 });
  assert.deepEqual(await prom.query('wsgate_message_size_bytes_sum{route="chat"}'),
                   { 'direction=client_to_backend,route=chat': 220, 'direction=backend_to_client,route=chat': 220 });
  assert.deepEqual(await prom.query('wsgate_close_codes_total > 0'), {
    'code=1000,route=chat,side=client': 4, 'code=1000,route=chat,side=backend': 4,
    'code=1000,route=limited,side=client': 2, 'code=1000,route=limited,side=backend': 2,
  });
  assert.deepEqual(await prom.query('wsgate_ratelimit_decisions_total > 0'),
                   { 'action=allow,policy=two,route=limited': 2, 'action=reject,policy=two,route=limited': 2 });
  assert.deepEqual(await prom.query('sum by (route) (wsgate_session_duration_seconds_count) > 0'),
                   { 'route=chat': 4, 'route=limited': 2 });
  assert.deepEqual(await prom.query('sum by (route) (wsgate_upgrade_duration_seconds_count) > 0'),
                   { 'route=chat': 4, 'route=limited': 2 });
  assert.deepEqual(await prom.query('sum by (route) (wsgate_backend_connect_duration_seconds_count) > 0'),
                   { 'route=chat': 4, 'route=limited': 3 });
  // The backend's part of the upgrade: the sessions and nothing refused before reaching it.
  assert.deepEqual(await prom.query('sum by (route) (wsgate_backend_upgrade_duration_seconds_count) > 0'),
                   { 'route=chat': 4, 'route=limited': 2 });
  assert.deepEqual(await prom.query('wsgate_backend_connect_failures_total > 0'),
                   { [`backend=${deadUrl},cause=refused,route=dead`]: 1 });
  assert.deepEqual(await prom.query(`wsgate_backend_ejections_total{backend!="${checkedDeadUrl}"} > 0`),
                   { [`backend=${deadUrl},cause=connect_failure`]: 1 });
  assert.deepEqual(await prom.query('sum by (route, cause) (wsgate_session_ends_total) > 0'),
                   { 'cause=client_close,route=chat': 4, 'cause=client_close,route=limited': 2 });
  assert.deepEqual(await prom.query('sum(wsgate_sessions_active)'), { '': 0 });
  assert.deepEqual(await prom.query('sum(wsgate_connections_open)'), { '': 0 });
  assert.deepEqual(await prom.query('min(wsgate_backend_up{route!="checked"})'), { '': 1 }, 'no health checks: up');
  // 4 + 3 + 2 + 2 + 4 + 1 WebSocket clients and one plain HTTP connection.
  assert.deepEqual(await prom.query('wsgate_connections_total'), { 'listener=public': 17, 'listener=secure': 0 });
  const version = execFileSync(wsgateBin, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/).pop();
  assert.deepEqual(await prom.query('wsgate_build_info'), { [`version=${version}`]: 1 });
  const hash = createHash('sha256').update(readFileSync(gw.configPath)).digest('hex').slice(0, 16);
  assert.deepEqual(await prom.query('wsgate_config_info'), { [`hash=${hash}`]: 1 });
});

// Each way a session can end, once, on one route: the cause is the first thing that started the end.
test('why sessions end, ping round trips, health checks, TLS and the process, exactly', async () => {
  const endsUrl = gw.url('public', '/ends');
  const clientClose = await open(endsUrl);
  clientClose.close(1000);
  assert.equal((await clientClose.closed).code, 1000);

  const backendClose = await open(endsUrl);
  backendClose.send('close 4000 bye');
  assert.equal((await backendClose.closed).code, 4000);

  const vanishing = await open(endsUrl);
  vanishing.terminate();  // FIN without a close frame: 1006 at the gateway

  const tooBig = await open(endsUrl);
  tooBig.send('x'.repeat(2048));
  assert.equal((await tooBig.closed).code, 1009);

  const ended = await open(endsUrl);
  const admin = `http://127.0.0.1:${gw.ports.admin}`;
  let id;
  for (let i = 0; i < 50 && !id; i++) {
    const list = await (await fetch(`${admin}/api/sessions?route=ends`)).json();
    id = list.sessions[0]?.id;
    if (!id) await sleep(50);
  }
  assert.equal((await fetch(`${admin}/api/sessions/${id}`, { method: 'DELETE' })).status, 200);
  assert.equal((await ended.closed).code, 1008);

  const idle = await open(endsUrl);
  const idleEnd = await idle.closed;
  assert.equal(idleEnd.code, 1001);
  assert.equal(idleEnd.reason, 'idle timeout');

  const orphaned = await open(gw.url('public', '/gone'));
  await doomed.kill();
  assert.equal((await orphaned.closed).code, 1012);

  // Pings every second of client silence; the ws client answers each. Two round trips, then a
  // close at once, before a third ping can be due.
  const pinged = await open(gw.url('public', '/pinged'));
  let pings = 0;
  await new Promise((resolve) => pinged.on('ping', () => { if (++pings === 2) resolve(); }));
  pinged.close(1000);
  await pinged.closed;

  // TLS: one good handshake with a plain request (no route: 404), one that fails.
  const status = await new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: gw.ports.secure, path: '/nowhere', rejectUnauthorized: false },
              (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }).on('error', reject);
  });
  assert.equal(status, 404);
  await new Promise((resolve) => {
    const socket = net.connect(gw.ports.secure, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\n\r\n'));
    socket.on('close', resolve);
    socket.on('error', () => {});
  });

  for (let i = 0; i < 50 && sumOf(await metricsText(), 'wsgate_connections_open{') !== 0; i++) await sleep(100);
  await prom.freshScrape();

  assert.deepEqual(await prom.query('wsgate_session_ends_total{route=~"ends|gone|pinged"} > 0'), {
    'cause=client_close,route=ends': 1, 'cause=backend_close,route=ends': 1, 'cause=client_gone,route=ends': 1,
    'cause=client_protocol_error,route=ends': 1, 'cause=operator,route=ends': 1, 'cause=idle_timeout,route=ends': 1,
    'cause=backend_gone,route=gone': 1, 'cause=client_close,route=pinged': 1,
  });
  assert.deepEqual(await prom.query('wsgate_ping_rtt_seconds_count > 0'), { 'route=pinged': 2 });
  assert.deepEqual(await prom.query('wsgate_ping_rtt_seconds_bucket{le="+Inf"} > 0'), { 'le=+Inf,route=pinged': 2 });
  // Every session of this test lasted under 10 s; the idle one at least 2 s.
  assert.deepEqual(await prom.query('wsgate_session_duration_seconds_bucket{route="ends",le="10"}'), { 'le=10,route=ends': 6 });
  assert.deepEqual(await prom.query('wsgate_session_duration_seconds_bucket{route="ends",le="1"}'), { 'le=1,route=ends': 5 });
  assert.deepEqual(await prom.query('sum(wsgate_connections_open)'), { '': 0 });
  assert.deepEqual(await prom.query('wsgate_tls_handshakes_total > 0'), { 'listener=secure,result=ok': 1, 'listener=secure,result=failed': 1 });
  assert.deepEqual(await prom.query('wsgate_tls_handshakes_total{listener="public"}'), {}, 'no TLS series on a plain listener');
  assert.deepEqual(await prom.query('wsgate_connections_total{listener="secure"}'), { 'listener=secure': 2 });
  assert.deepEqual(await prom.query('wsgate_http_requests_total{route=""} > 0'), { 'result=no_route': 1 });
  const unrouted = (await metricsText()).split('\n').filter((l) => l.includes('route=""'));
  assert.equal(unrouted.length, 2 * 14, unrouted.join('\n'));
  assert.ok(unrouted.every((l) => /^wsgate_(upgrades|http_requests)_total\{/.test(l)),
            `route="" carries the two request families only:\n${unrouted.join('\n')}`);

  const end = execFileSync('openssl', ['x509', '-in', cert.cert, '-noout', '-enddate', '-serial'], { encoding: 'utf8' });
  const notAfter = Date.parse(end.match(/notAfter=(.*)/)[1]) / 1000;
  const serial = end.match(/serial=(\S+)/)[1];
  assert.deepEqual(await prom.query('wsgate_tls_certificate_not_after_timestamp_seconds'),
                   { [`cn=localhost,file=${cert.cert},listener=secure,serial=${serial}`]: notAfter });

  // Health checks every 300 ms: the live backend passes each, the dead one fails each, and every
  // check's duration is observed once.
  const checks = await prom.query('wsgate_health_checks_total');
  assert.equal(checks[`backend=${checkedDeadUrl},result=ok`], 0);
  assert.equal(checks[`backend=${backend.url},result=failed`], 0);
  assert.ok(checks[`backend=${backend.url},result=ok`] >= 2, JSON.stringify(checks));
  assert.ok(checks[`backend=${checkedDeadUrl},result=failed`] >= 2, JSON.stringify(checks));
  const durations = await prom.query('wsgate_health_check_duration_seconds_count');
  assert.deepEqual(durations, { [`backend=${backend.url}`]: checks[`backend=${backend.url},result=ok`],
                                [`backend=${checkedDeadUrl}`]: checks[`backend=${checkedDeadUrl},result=failed`] });
  assert.deepEqual(await prom.query('wsgate_backend_up{route="checked"}'),
                   { [`backend=${backend.url},route=checked`]: 1, [`backend=${checkedDeadUrl},route=checked`]: 0 });

  // The process, as the kernel reports it.
  const pid = gw.proc.pid;
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/Max open files\s+(\d+)/)[1];
  assert.deepEqual(await prom.query('process_max_fds'), { '': Number(limits) });
  const fds = (await prom.query('process_open_fds'))[''];
  assert.ok(Math.abs(fds - readdirSync(`/proc/${pid}/fd`).length) <= 4, `${fds} open descriptors`);
  const rss = (await prom.query('process_resident_memory_bytes'))[''];
  assert.ok(Math.abs(rss - rssKiB(pid) * 1024) < 0.25 * rss, `${rss} resident bytes`);
  const started = (await prom.query('process_start_time_seconds'))[''];
  assert.ok(Math.abs(started - gw.startedAt / 1000) < 5, `started ${started}, spawned ${gw.startedAt / 1000}`);
  assert.ok((await prom.query('process_cpu_seconds_total'))[''] > 0);
});

test('reloads are counted by result and the info metric follows the file in use', async () => {
  writeFileSync(gw.configPath, yaml.replace('burst: 2', 'burst: 3'));
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/config_reloaded/);
  const hash = createHash('sha256').update(readFileSync(gw.configPath)).digest('hex').slice(0, 16);
  writeFileSync(gw.configPath, 'routes: [ { name: broken } ]\n');
  gw.proc.kill('SIGHUP');
  await gw.waitLog(/reload_rejected/);
  await prom.freshScrape();
  assert.deepEqual(await prom.query('wsgate_config_reloads_total'), { 'result=ok': 1, 'result=error': 1 });
  assert.deepEqual(await prom.query('wsgate_config_info'), { [`hash=${hash}`]: 1 }, 'the rejected file is not in use');
});

test('promtool finds nothing wrong with the exposition or the shipped scrape config', async () => {
  const text = await metricsText();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint findings');
  const config = spawnSync('promtool', ['check', 'config', path.join(root, 'deploy', 'prometheus.yml')],
                           { encoding: 'utf8' });
  assert.equal(config.status, 0, `${config.stdout}${config.stderr}`);
});

test('every query of the Grafana dashboard runs in Prometheus, names only exported metrics and returns data', async () => {
  const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy', 'grafana', 'wsgate.json'), 'utf8'));
  const exprs = [];
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      if (typeof node.expr === 'string') exprs.push(node.expr);
      Object.values(node).forEach(walk);
    }
  };
  walk(dashboard);
  assert.ok(exprs.length >= 10, `${exprs.length} queries`);
  const text = await metricsText();
  const exported = new Set();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
  }
  for (const raw of exprs) {
    const expr = raw.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '1m')
      .replace(/\$\{?route\}?/g, '.*').replace(/\$\{?backend\}?/g, '.*');
    for (const [name] of expr.matchAll(/(?:wsgate|process)_[a-z_]+/g))
      assert.ok(exported.has(name), `${name} (in ${raw}) is not exported`);
    const result = await prom.query(expr);  // throws on a PromQL error
    // This gateway has no JWKS provider: that panel is empty for it, as for any operator without one.
    if (!expr.includes('wsgate_jwks_refreshes_total'))
      assert.ok(Object.keys(result).length > 0, `no data for ${raw}`);
  }
});
