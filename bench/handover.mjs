#!/usr/bin/env node
// A binary upgrade under load, beside the restart it replaces. N plain WebSocket sessions through
// one wsgate (a copy of build/wsgate) to bench/echo_backend, each sending a numbered message every
// `interval` ms and checking its echoes come back in order; then
//   handover: SIGUSR2 (the same binary at the same path: the new process takes every session);
//   restart:  SIGTERM (drain: 1001 to every client) and a second wsgate started at once on the same
//             port, every client reconnecting the moment it is closed (the storm the upgrade avoids).
//   steady:   nothing happens: the clients' view of an undisturbed gateway, the floor of the gaps.
// Reported per mode: reconnects, messages lost (sent, never echoed) and reordered, each session's
// longest silence between two echoes around the event (p50, p99, max over sessions), and how long
// the old process took to exit. Clients run in two child processes, one per core.
//
//   node bench/handover.mjs                          5000 sessions, 100 ms, every mode (about 2 minutes)
//   node bench/handover.mjs --sessions 500 --mode handover
// Writes bench/results/handover.json and handover.md.
import { spawn, fork } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const build = process.env.BUILD_DIR ?? path.join(root, 'build');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));

// ---- the client side (a child process) ------------------------------------------------------
function clientMain() {
  const { port, count, interval, first } = JSON.parse(args.client);
  const sessions = [];
  let measuring = false;
  let window = { from: 0, to: Infinity };
  function session(id) {
    const s = { id, seq: 0, expected: 0, reconnects: 0, lost: 0, reordered: 0, echoed: 0, lastEcho: 0, gap: 0,
                unanswered: new Set(), ws: null, timer: null, open: false, stopped: false };
    const connectNow = () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false });
      s.ws = ws;
      ws.on('open', () => { s.open = true; });
      ws.on('message', (data) => {
        const n = Number(data.toString().split(':')[1]);
        const now = performance.now();
        if (n !== s.expected) s.reordered += n > s.expected ? 0 : 1;
        s.expected = n + 1;
        s.unanswered.delete(n);
        ++s.echoed;
        if (measuring && s.lastEcho && now >= window.from && now <= window.to) s.gap = Math.max(s.gap, now - s.lastEcho);
        s.lastEcho = now;
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        s.open = false;
        // What it sent on this connection and never saw again is lost.
        s.lost += s.unanswered.size;
        s.unanswered.clear();
        s.expected = s.seq;
        if (s.stopped) return;
        ++s.reconnects;
        setTimeout(connectNow, s.reconnects > 1 && !measuring ? 50 : 0);
      });
    };
    connectNow();
    s.timer = setInterval(() => {
      if (!s.open || s.ws.readyState !== 1) return;
      s.unanswered.add(s.seq);
      s.ws.send(`${s.id}:${s.seq++}`);
    }, interval);
    return s;
  }
  process.on('message', (m) => {
    if (m.cmd === 'start') {
      for (let i = 0; i < count; i++) setTimeout(() => sessions.push(session(first + i)), (i * interval) / count);
    } else if (m.cmd === 'ready') {
      process.send({ open: sessions.filter((s) => s.open).length });
    } else if (m.cmd === 'measure') {
      for (const s of sessions) { s.reconnects = 0; s.lost = 0; s.reordered = 0; s.gap = 0; }
      measuring = true;
      window = { from: performance.now(), to: performance.now() + m.ms };
    } else if (m.cmd === 'stop') {
      for (const s of sessions) clearInterval(s.timer);
      setTimeout(() => {
        for (const s of sessions) { s.stopped = true; s.lost += s.unanswered.size; s.ws.terminate(); }
        process.send({ result: sessions.map((s) => ({ r: s.reconnects, l: s.lost, o: s.reordered, g: s.gap, e: s.echoed })) });
      }, 2000);
    }
  });
  process.send({ started: true });
}

// ---- the driver ---------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startProcess(cmd, argv, opts = {}) {
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  proc.lines = [];
  const read = (stream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { proc.lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
  };
  read(proc.stdout);
  read(proc.stderr);
  proc.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  return proc;
}

async function waitLine(proc, re, ms = 20000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(20)) {
    const l = proc.lines.find((x) => re.test(x));
    if (l) return l;
  }
  throw new Error(`no line ${re}:\n${proc.lines.slice(-10).join('\n')}`);
}

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

async function runMode(mode, { sessions, interval, dir, backendPort }) {
  const port = await freePort();
  const bin = path.join(dir, 'wsgate');
  const yaml = path.join(dir, `${mode}.yaml`);
  writeFileSync(yaml, `threads: 2
log: { level: info }
listeners:
  - { name: public, bind: "127.0.0.1:${port}", reuse_port_with_others: true }
admin: { enabled: false }
drain: { timeout: 10s }
handover: { timeout: 30s }
routes:
  - { name: echo, match: { path_prefix: /echo }, backends: [ "ws://127.0.0.1:${backendPort}" ],
      limits: { idle_timeout: 5m } }
`);
  const gwArgs = ['--config', yaml];
  const gateways = [];
  const startGw = async () => {
    const p = startProcess(bin, gwArgs, { cwd: dir });
    gateways.push(p);
    for (let i = 0; i < 200; i++) {
      const up = await new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
      if (up) return p;
      await sleep(25);
    }
    throw new Error(`wsgate did not start:\n${p.lines.join('\n')}`);
  };
  const old = await startGw();

  const clients = [];
  const per = Math.ceil(sessions / 2);
  for (let c = 0; c < 2; c++) {
    const child = fork(fileURLToPath(import.meta.url), ['--client', JSON.stringify({ port, count: Math.min(per, sessions - c * per), interval, first: c * per })],
                       { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.inbox = [];
    child.on('message', (m) => child.inbox.push(m));
    clients.push(child);
  }
  const next = async (child, key) => {
    for (;;) {
      const i = child.inbox.findIndex((m) => key in m);
      if (i >= 0) return child.inbox.splice(i, 1)[0];
      await sleep(10);
    }
  };
  await Promise.all(clients.map((c) => next(c, 'started')));
  for (const c of clients) c.send({ cmd: 'start' });
  for (const deadline = Date.now() + 60000; Date.now() < deadline; await sleep(250)) {
    for (const c of clients) c.send({ cmd: 'ready' });
    const open = (await Promise.all(clients.map((c) => next(c, 'open')))).reduce((a, m) => a + m.open, 0);
    if (open >= sessions) break;
  }
  await sleep(3000);  // every session exchanging
  const windowMs = 10000;
  for (const c of clients) c.send({ cmd: 'measure', ms: windowMs });
  await sleep(1000);
  const t0 = performance.now();
  if (mode === 'handover') {
    old.kill('SIGUSR2');
  } else if (mode === 'restart') {
    old.kill('SIGTERM');
    await startGw();
  }
  // steady: nothing happens; what the clients see of an idle gateway on this machine (the floor).
  const oldCode = mode === 'steady' ? null : await old.exited;
  const oldExitMs = performance.now() - t0;
  await sleep(windowMs - 1000 - (performance.now() - t0));
  for (const c of clients) c.send({ cmd: 'stop' });
  const results = (await Promise.all(clients.map((c) => next(c, 'result')))).flatMap((m) => m.result);
  for (const c of clients) c.kill();
  // The process now serving: the successor (handover) or the second wsgate (restart).
  const successor = mode === 'handover'
    ? Number((old.lines.find((l) => / handover_started /.test(l)) ?? '').match(/pid=(\d+)/)?.[1])
    : null;
  if (args.verbose) for (const g of gateways) for (const l of g.lines) if (/ (warn|error) | handover/.test(l)) console.error(l);
  for (const g of gateways) if (g.exitCode === null) g.kill('SIGKILL');
  if (successor) { try { process.kill(successor, 'SIGKILL'); } catch {} }
  const gaps = results.map((r) => r.g).sort((a, b) => a - b);
  const handoverLine = old.lines.find((l) => / handover result=/.test(l)) ?? '';
  return {
    mode, sessions, interval_ms: interval,
    reconnects: results.reduce((a, r) => a + r.r, 0),
    lost: results.reduce((a, r) => a + r.l, 0),
    reordered: results.reduce((a, r) => a + r.o, 0),
    echoed: results.reduce((a, r) => a + r.e, 0),
    gap_p50_ms: Math.round(percentile(gaps, 0.5)),
    gap_p99_ms: Math.round(percentile(gaps, 0.99)),
    gap_max_ms: Math.round(gaps[gaps.length - 1] ?? 0),
    old_exit_ms: mode === 'steady' ? null : Math.round(oldExitMs),
    old_exit_code: oldCode,
    handover_line: handoverLine.replace(/^\S+ /, ''),
  };
}

async function main() {
  const sessions = Number(args.sessions ?? 5000);
  const interval = Number(args.interval ?? 100);
  const modes = (args.mode ?? 'all') === 'all' ? ['steady', 'handover', 'restart'] : [args.mode];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsgate-handover-'));
  copyFileSync(path.join(build, 'wsgate'), path.join(dir, 'wsgate'));
  chmodSync(path.join(dir, 'wsgate'), 0o755);
  const backend = startProcess(path.join(build, 'bench', 'echo_backend'), ['--port', '0']);
  const backendPort = JSON.parse(await waitLine(backend, /"port"/)).port;
  const runs = [];
  try {
    for (const mode of modes) {
      const r = await runMode(mode, { sessions, interval, dir, backendPort });
      console.log(JSON.stringify(r));
      runs.push(r);
    }
  } finally {
    backend.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const command = `node bench/handover.mjs ${process.argv.slice(2).join(' ')}`.trim();
  const out = path.join(root, 'bench', 'results');
  writeFileSync(path.join(out, 'handover.json'), JSON.stringify({ command, date: new Date().toISOString(), runs }, null, 2) + '\n');
  const rows = runs.map((r) => `| ${r.mode} | ${r.sessions} | ${r.reconnects} | ${r.lost} | ${r.reordered} | ${r.gap_p50_ms} | ${r.gap_p99_ms} | ${r.gap_max_ms} | ${r.old_exit_ms ?? '-'} |`);
  writeFileSync(path.join(out, 'handover.md'), `# Binary upgrade under load

\`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${sessions} plain sessions, one message each every
${interval} ms, echoed in order by bench/echo_backend; two client processes, wsgate with 2 io threads, all on
one 2-core machine. handover: SIGUSR2. restart: SIGTERM (drain, 1001) and a second wsgate started at once
on the same port, every client reconnecting at once. steady: nothing happens (what this machine's
clients see of an undisturbed gateway: the floor of the gaps). Gap: a session's longest silence between
two echoes over the 10 s around the event (the interval itself is ${interval} ms).

| mode | sessions | reconnects | lost | reordered | gap p50 ms | gap p99 ms | gap max ms | old process exits after ms |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`);
}

if (args.client) clientMain();
else await main();
