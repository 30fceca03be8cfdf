// The shipped gateway.yaml: it validates with the development secrets the demo creates, and it
// runs as it is (only its ports moved to free ones) with real backends and clients, plain and TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { root, wsgateBin, tempDir, startBackend, startGateway, open, connect } from './lib.mjs';

function withDevSecrets() {
  const dir = tempDir();
  execFileSync(path.join(root, 'scripts', 'dev-secrets.sh'), [path.join(dir, 'certs')], { stdio: 'ignore' });
  return dir;
}

test('--check-config accepts the shipped gateway.yaml', () => {
  const dir = withDevSecrets();
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(file, readFileSync(path.join(root, 'gateway.yaml')));
  const r = spawnSync(wsgateBin, ['--check-config', file], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `${file}: ok\n`);
});

test('--check-config prints every error as FILE:LINE:COL and exits 1', () => {
  const dir = tempDir();
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'listeners:\n  - bind: 127.0.0.1\nroutes:\n  - backends: [ "http://x" ]\n    limits: { max_mesage: 1MiB }\n');
  const r = spawnSync(wsgateBin, ['--check-config', file], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `${file}:2:11: listeners[0].bind: must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`,
    `${file}:4:17: routes[0].backends[0]: must be ws://HOST:PORT or wss://HOST:PORT`,
    `${file}:5:15: routes[0].limits.max_mesage: unknown key`,
  ]);
});

test('--version and usage', () => {
  assert.match(execFileSync(wsgateBin, ['--version'], { encoding: 'utf8' }), /^wsgate \d+\.\d+\.\d+\n$/);
  assert.equal(spawnSync(wsgateBin, ['--bogus']).status, 2);
  // --help names the signals and the admin endpoints an operator drives it with.
  const help = execFileSync(wsgateBin, ['--help'], { encoding: 'utf8' });
  for (const word of ['SIGHUP', 'SIGTERM', 'SIGUSR1', '/metrics', '/readyz', '/api/sessions', '/api/backends/ID/drain', '/api/log-level'])
    assert.ok(help.includes(word), `--help mentions ${word}`);
});

test('wsgate token: --sub is required and a secret under 32 bytes is refused, as the gateway would', () => {
  const dir = tempDir();
  const good = path.join(dir, 'good.secret'), short = path.join(dir, 'short.secret');
  writeFileSync(good, 'x'.repeat(32));
  writeFileSync(short, 'x'.repeat(31));
  const noSub = spawnSync(wsgateBin, ['token', '--secret-file', good], { encoding: 'utf8' });
  assert.equal(noSub.status, 2);
  assert.match(noSub.stderr, /--sub SUBJECT is required/);
  assert.equal(noSub.stdout, '', 'no token printed');
  const shortSecret = spawnSync(wsgateBin, ['token', '--secret-file', short, '--sub', 'a'], { encoding: 'utf8' });
  assert.equal(shortSecret.status, 1);
  assert.match(shortSecret.stderr, /holds 31 bytes; an HMAC secret needs at least 32/);
  assert.equal(spawnSync(wsgateBin, ['token', '--secret-file', good, '--sub', 'a']).status, 0);
});

test('--check-config: an empty file, a count that is no number, a short HMAC secret, each with its place', () => {
  const dir = tempDir();
  const empty = path.join(dir, 'empty.yaml');
  writeFileSync(empty, '# nothing yet\n');
  const r1 = spawnSync(wsgateBin, ['--check-config', empty], { encoding: 'utf8' });
  assert.equal(r1.status, 1);
  assert.equal(r1.stderr.trim(), `${empty}:1:1: the file is empty: it needs at least listeners and routes`);
  const secret = path.join(dir, 'short.secret');
  writeFileSync(secret, 'too short\n');
  const file = path.join(dir, 'gw.yaml');
  writeFileSync(file, `listeners: [ { bind: "127.0.0.1:0" } ]
http: { max_headers: 1KiB }
auth:
  providers:
    - name: dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secret} } ]
routes: [ { auth: dev, backends: [ "ws://127.0.0.1:1" ] } ]
`);
  const r2 = spawnSync(wsgateBin, ['--check-config', file], { encoding: 'utf8' });
  assert.equal(r2.status, 1);
  assert.deepEqual(r2.stderr.trim().split('\n'), [`${file}:2:22: http.max_headers: must be a whole number such as 100`]);
  writeFileSync(file, readFileSync(file, 'utf8').replace('http: { max_headers: 1KiB }\n', ''));
  const r3 = spawnSync(wsgateBin, ['--check-config', file], { encoding: 'utf8' });
  assert.equal(r3.status, 1);
  assert.deepEqual(r3.stderr.trim().split('\n'),
                   [`${file}:6:15: auth.providers[0].keys[0].secret_file: ${secret} holds 9 bytes; an HMAC secret needs at least 32 (e.g. openssl rand -hex 32)`]);
});

test('the shipped gateway.yaml runs with three workers, plain and TLS', async () => {
  const dir = withDevSecrets();
  const workers = await Promise.all([1, 2, 3].map((i) => startBackend(`worker-${i}`)));
  let yaml = readFileSync(path.join(root, 'gateway.yaml'), 'utf8')
    .replace(/127\.0\.0\.1:(8080|8443|9100)/g, '127.0.0.1:0');
  workers.forEach((w, i) => { yaml = yaml.replaceAll(`127.0.0.1:900${i + 1}`, `127.0.0.1:${w.port}`); });
  const gw = await startGateway(yaml, { dir });
  try {
    const seen = new Set();
    for (let i = 0; i < 3; i++) {
      const ws = await open(gw.url('public', '/echo'));
      ws.send('whoami');
      seen.add((await ws.next()).data.toString());
      ws.close();
    }
    assert.equal(seen.size, 1, '/echo pins a client address to one worker');
    const ca = readFileSync(path.join(dir, 'certs', 'dev.crt'));
    // /chat pins by the token's sub: thirty users spread over the three workers.
    const spread = new Set();
    for (let i = 0; i < 30; i++) {
      const t = execFileSync(wsgateBin, ['token', '--secret-file', path.join(dir, 'certs', 'dev.secret'),
                                         '--sub', `user-${i}`, '--iss', 'wsgate-dev', '--aud', 'wsgate'],
                             { encoding: 'utf8' }).trim();
      const ws = await open(`ws://127.0.0.1:${gw.ports.public}/chat`, { headers: { authorization: `Bearer ${t}` } });
      ws.send('whoami');
      spread.add((await ws.next()).data.toString());
      ws.close();
    }
    assert.deepEqual([...spread].sort(), ['worker-1', 'worker-2', 'worker-3']);
    const chatUrl = `wss://localhost:${gw.ports['public-tls']}/chat`;
    const refused = connect(chatUrl, { ca });
    await assert.rejects(refused.opened, (err) => err.status === 401, '/chat needs a token');
    const token = execFileSync(wsgateBin, ['token', '--secret-file', path.join(dir, 'certs', 'dev.secret'),
                                           '--sub', 'demo', '--iss', 'wsgate-dev', '--aud', 'wsgate'],
                               { encoding: 'utf8' }).trim();
    const secure = await open(`${chatUrl}?access_token=${token}`, { ca });
    const peer = await open(chatUrl, { ca, headers: { authorization: `Bearer ${token}` } });
    secure.send('whoami');
    const worker = (await secure.next()).data.toString();
    assert.match(worker, /^worker-\d$/);
    secure.send('hello room');
    assert.equal((await secure.next()).data.toString(), 'hello room');
    secure.close();
    peer.close();
    const health = await fetch(`http://127.0.0.1:${gw.ports.admin}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${gw.ports.admin}/readyz`)).status, 200);
  } finally {
    await gw.stop();
    for (const w of workers) await w.kill();
  }
});
