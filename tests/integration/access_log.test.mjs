// The access log through the real binary: one line per plain request, per upgrade and per
// rejection with the documented fields; the session's id shared by its upgrade line and every
// line about the session; numbers as numbers in JSON; never a token wherever it was sent, at any
// log level; a file reopened on SIGUSR1 after logrotate moved it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wsgateBin, tempDir, startBackend, startGateway, open, connect, routeYaml, sleep } from './lib.mjs';

let backend, dir, secretFile, token;

before(async () => {
  backend = await startBackend('w1');
  dir = tempDir();
  secretFile = path.join(dir, 'dev.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64'));
  token = execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', 'alice'], { encoding: 'utf8' }).trim();
});
after(async () => { await backend?.kill(); });

function yaml(extra = '') {
  return routeYaml(`
  - { name: open, match: { path_prefix: /open }, backends: [ "${backend.url}" ] }
  - name: secure
    match: { path_prefix: /secure }
    auth: dev
    allowed_origins: [ "https://app.example" ]
    backends: [ "${backend.url}" ]`, { extra: `${extra}
auth:
  providers:
    - name: dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]
      token_from: [ "header:Authorization", "query:access_token", "cookie:session_token", "protocol" ]` });
}

const accessLines = (gw) => gw.logs.filter((l) => / access /.test(l) || /"event":"access"/.test(l));

test('a plain request, an upgrade and rejections each give one line; the session id runs through', async () => {
  const gw = await startGateway(yaml());
  try {
    const res = await fetch(`http://127.0.0.1:${gw.ports.public}/open/page?x=1`);
    const body = await res.text();
    const plain = await gw.waitLog(/ access .*path="?\/open\/page\?x=1/);
    assert.match(plain, new RegExp(`client=127\\.0\\.0\\.1 method=GET host=127\\.0\\.0\\.1:${gw.ports.public} `));
    assert.match(plain, new RegExp(`status=200 duration_ms=\\d+ bytes=${Buffer.byteLength(body)} route=open backend=${backend.url.replace(/[./]/g, '\\$&')} session=-`));

    const ws = await open(gw.url('public', '/open/chat'));
    ws.send('hi');
    await ws.next();
    ws.close();
    const up = await gw.waitLog(/ access .*path=\/open\/chat status=101 /);
    const id = /session=(\d+-\d+)/.exec(up)[1];
    const closed = await gw.waitLog(/ session_closed /);
    assert.match(closed, new RegExp(`session=${id}$`), 'the session\'s lines carry the upgrade\'s id');
    assert.match(await gw.waitLog(/ session_open /), new RegExp(`session=${id} protocol=http/1\\.1$`));
    assert.match(up, / protocol=http\/1\.1$/, 'the access line says which protocol');

    await fetch(`http://127.0.0.1:${gw.ports.public}/nowhere?secret=1`);
    assert.match(await gw.waitLog(/ access .*status=404 /), / path=\/nowhere status=404 .*route=- backend=- /);
    await fetch(`http://127.0.0.1:${gw.ports.public}/secure/x`);
    assert.match(await gw.waitLog(/ access .*status=401 /), / path=\/secure\/x status=401 .*route=secure backend=- /);
    assert.equal(accessLines(gw).length, 4, 'one line each');
  } finally {
    await gw.stop();
  }
});

test('a token never reaches any log line, wherever it was sent and at debug level', async () => {
  const gw = await startGateway(yaml().replace('threads: 2', 'threads: 2\nlog: { level: debug }'));
  try {
    const base = `http://127.0.0.1:${gw.ports.public}`;
    await fetch(`${base}/secure/a`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${base}/secure/b?access_token=${token}&keep=1`);
    await fetch(`${base}/secure/c`, { headers: { cookie: `session_token=${token}; theme=dark` } });
    await fetch(`${base}/open/d?access_token=${token}`);  // a route that reads no token
    const ws = await open(gw.url('public', '/secure/e'), { protocols: ['bearer', token] });
    ws.close();
    await fetch(`${base}/secure/f?access_token=${token.slice(0, -2)}xx`);  // a bad one: 401
    await gw.waitLog(/ access .*path=\/secure\/f status=401/);
    await gw.waitLog(/ access .*path=\/secure\/e status=101/);
    assert.match(await gw.waitLog(/ access .*path="?\/secure\/b/), /path="?\/secure\/b\?keep=1"? status=200/);
    assert.match(await gw.waitLog(/ access .*path="?\/open\/d/), /path=\/open\/d status=200/);
    const signature = token.split('.')[2];
    for (const l of gw.logs) {
      assert.ok(!l.includes(signature) && !l.includes(token.split('.')[1]), `no token in: ${l}`);
      assert.ok(!/theme=dark|Bearer /.test(l), `no cookie or Authorization in: ${l}`);
    }
  } finally {
    await gw.stop();
  }
});

test('JSON lines: numbers are numbers', async () => {
  const gw = await startGateway(yaml().replace('threads: 2', 'threads: 2\nlog: { format: json }'));
  try {
    await fetch(`http://127.0.0.1:${gw.ports.public}/open/json`);
    const ws = await open(gw.url('public', '/open/json-ws'));
    ws.close();
    const access = JSON.parse(await gw.waitLog(/"event":"access".*"path":"\/open\/json"/));
    assert.equal(access.status, 200);
    assert.equal(typeof access.duration_ms, 'number');
    assert.equal(typeof access.bytes, 'number');
    assert.equal(access.route, 'open');
    assert.equal(access.protocol, 'http/1.1');
    const closed = JSON.parse(await gw.waitLog(/"event":"session_closed"/));
    assert.equal(typeof closed.messages_in, 'number');
    assert.equal(typeof closed.duration_ms, 'number');
    assert.equal(typeof closed.session, 'string');
  } finally {
    await gw.stop();
  }
});

test('access_log.path: lines go to the file; SIGUSR1 reopens it after logrotate moved it', async () => {
  const file = path.join(tempDir(), 'access.log');
  const gw = await startGateway(yaml(`access_log: { path: ${file} }`));
  try {
    await fetch(`http://127.0.0.1:${gw.ports.public}/open/one`);
    const deadline = Date.now() + 5000;
    while ((!existsSync(file) || !readFileSync(file, 'utf8').includes('/open/one')) && Date.now() < deadline) await sleep(20);
    assert.match(readFileSync(file, 'utf8'), / access .*path=\/open\/one status=200/);
    assert.equal(accessLines(gw).length, 0, 'not on stderr');
    renameSync(file, `${file}.1`);
    gw.proc.kill('SIGUSR1');
    await gw.waitLog(/ access_log_reopened/);
    await fetch(`http://127.0.0.1:${gw.ports.public}/open/two`);
    while ((!existsSync(file) || !readFileSync(file, 'utf8').includes('/open/two')) && Date.now() < deadline + 5000) await sleep(20);
    assert.match(readFileSync(file, 'utf8'), /path=\/open\/two/, 'the new file');
    assert.ok(!readFileSync(`${file}.1`, 'utf8').includes('/open/two'), 'the rotated one no longer grows');
  } finally {
    await gw.stop();
  }
});

// A full disk (/dev/full answers every write with ENOSPC): requests are served as ever, and every
// line lost is counted.
test('lines a full disk refuses are counted and nothing else suffers', async () => {
  const gw = await startGateway(yaml('access_log: { path: /dev/full }'));
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${gw.ports.public}/open/${i}`);
      assert.equal(res.status, 200);
      await res.text();
    }
    const ws = await open(gw.url('public', '/open'));
    ws.send('still here');
    assert.equal((await ws.next()).data.toString(), 'still here');
    ws.close(1000);
    await ws.closed;
    assert.equal(await gw.metric('wsgate_access_log_dropped_lines_total'), 4, 'three requests and one upgrade');
  } finally {
    await gw.stop();
  }
});
