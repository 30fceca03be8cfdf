// Helpers for integration tests: start the real wsgate binary on a YAML file, real backends in
// child processes, and real clients. Every process started here is stopped by its own PID.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const wsgateBin = process.env.WSGATE_BIN ?? path.join(root, 'build', 'wsgate');
const backendScript = path.join(root, 'tests', 'backends', 'chat_backend.mjs');

const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch {} } });

export function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsgate-it-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]);
}

// A chat_backend.mjs child. kill() stops it by PID; restart() starts it again on the same port.
export async function startBackend(name, { port = 0, env = {}, tls, upgradeDelay, host = '127.0.0.1' } = {}) {
  const tlsArgs = tls ? ['--cert', tls.cert, '--key', tls.key] : [];
  const delayArgs = upgradeDelay ? ['--upgrade-delay', String(upgradeDelay)] : [];
  const proc = spawn(process.execPath, [backendScript, '--port', String(port), '--name', name, '--host', host,
                                        ...tlsArgs, ...delayArgs],
                     { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  const output = [];
  const ready = new Promise((resolve, reject) => {
    lines(proc.stdout, (l) => {
      output.push(l);
      try { const m = JSON.parse(l); if (m.port) resolve(m.port); } catch {}
    });
    proc.on('exit', (code) => reject(new Error(`backend ${name} exited ${code}`)));
  });
  const actualPort = await withTimeout(ready, 10000, `backend ${name} start`);
  proc.on('exit', () => children.delete(proc));
  return {
    name, port: actualPort, proc, output,
    url: `${tls ? 'wss' : 'ws'}://${host}:${actualPort}`,
    kill(signal = 'SIGKILL') {
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode) ? r() : proc.once('exit', r));
      proc.kill(signal);
      return exited;
    },
  };
}

// Debian's dnsmasq on loopback as the name server for *.wsgate.test: A records from `hostsFile`
// (read again on reload(), SIGHUP), SRV records from `srv` lines, every answer with TTL `ttl`.
// Unknown names under wsgate.test are NXDOMAIN. Stopped by PID; stop() and start() again on the
// same port are a DNS outage.
export async function startDnsmasq({ dir = tempDir(), hosts = '', srv = [], ttl = 1 } = {}) {
  const port = await freePort();
  const hostsFile = path.join(dir, 'dns.hosts');
  writeFileSync(hostsFile, hosts);
  const conf = path.join(dir, 'dnsmasq.conf');
  writeFileSync(conf, srv.map((l) => `srv-host=${l}`).join('\n') + '\n');
  let proc;
  const dns = {
    port, hostsFile, address: `127.0.0.1:${port}`,
    async start() {
      proc = spawn('/usr/sbin/dnsmasq', ['--keep-in-foreground', '--log-facility=-', `--port=${port}`,
        '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--no-negcache',
        `--addn-hosts=${hostsFile}`, `--conf-file=${conf}`, `--local-ttl=${ttl}`, '--local=/wsgate.test/',
        '--pid-file=', '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.add(proc);
      proc.on('exit', () => children.delete(proc));
      const started = new Promise((resolve, reject) => {
        lines(proc.stderr, (l) => { if (/started|ready/.test(l)) resolve(); });
        proc.on('exit', (code) => reject(new Error(`dnsmasq exited ${code}`)));
      });
      await withTimeout(started, 5000, 'dnsmasq start');
    },
    write(text) { writeFileSync(hostsFile, text); },
    reload() { proc.kill('SIGHUP'); },
    stop() {
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode) ? r() : proc.once('exit', r));
      proc.kill('SIGKILL');
      return exited;
    },
  };
  await dns.start();
  return dns;
}

// A free loopback port: bound, read and released (for servers that cannot take port 0 and report it).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

// A redis-server child on loopback, no persistence. stop() ends it by PID; start() again on the
// same port (a restart, as an operator's would be).
export async function startRedis({ port } = {}) {
  port ??= await freePort();
  const redis = { port, proc: null };
  redis.start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
                                        '--appendonly', 'no', '--protected-mode', 'yes'],
                       { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(proc);
    proc.on('exit', () => children.delete(proc));
    redis.proc = proc;
    await withTimeout(new Promise((resolve, reject) => {
      lines(proc.stdout, (l) => { if (/Ready to accept connections/.test(l)) resolve(); });
      proc.on('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
    }), 10000, 'redis-server start');
  };
  redis.stop = () => {
    const proc = redis.proc;
    const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode) ? r() : proc.once('exit', r));
    proc.kill('SIGKILL');
    return exited;
  };
  await redis.start();
  return redis;
}

// What AddressSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer print: a sanitized build's
// report fails the test that stops the gateway, even when the clients saw nothing wrong.
const sanitizerReport = /runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|SUMMARY: \w+Sanitizer/;

// Under CTest (tests/integration/run.sh) every gateway's log also goes to a file that is kept when
// the test fails: gateway-N.log, with the configuration it ran on at the top.
let gatewaysStarted = 0;
function gatewayLogFile(yaml) {
  const dir = process.env.WSGATE_TEST_ARTIFACTS;
  if (!dir) return null;
  const file = path.join(dir, `gateway-${process.pid}-${++gatewaysStarted}.log`);
  writeFileSync(file, `# configuration\n${yaml}\n# log\n`);
  return file;
}

// Starts wsgate on `yaml` (written to dir/gateway.yaml); resolves when every listener is bound.
export async function startGateway(yaml, { dir = tempDir(), env = {}, bin = wsgateBin } = {}) {
  const logFile = gatewayLogFile(yaml);
  const configPath = path.join(dir, 'gateway.yaml');
  writeFileSync(configPath, yaml);
  const startedAt = Date.now();
  const proc = spawn(bin, ['--config', configPath],
                     { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  const logs = [];
  const waiters = [];
  const ports = {};
  lines(proc.stderr, (l) => {
    logs.push(l);
    if (logFile) appendFileSync(logFile, `${l}\n`);
    if (process.env.WSGATE_TEST_VERBOSE) console.error(`[wsgate] ${l}`);
    const m = l.match(/ listening listener=(\S+) address=(\S+):(\d+)/) ??
              l.match(/"event":"listening","listener":"([^"]+)","address":"(.+):(\d+)"/);  // log.format: json
    if (m) ports[m[1]] = Number(m[3]);
    for (const w of [...waiters]) if (w.re.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    children.delete(proc);
    resolve({ code, signal });
  }));
  const gw = {
    proc, logs, ports, dir, configPath, exited, startedAt,
    waitLog(re, ms = 5000) {
      const found = logs.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return withTimeout(new Promise((resolve) => waiters.push({ re, resolve })), ms,
                         `log line ${re} (last lines:\n${logs.slice(-8).join('\n')})`);
    },
    url(listener = 'public', pathname = '/', scheme = 'ws') {
      return `${scheme}://127.0.0.1:${ports[listener]}${pathname}`;
    },
    writeConfig(text) { writeFileSync(configPath, text); },
    // The sum of the /metrics samples whose line starts with `prefix` (name and labels, e.g.
    // 'wsgate_bytes_total{route="deaf",direction="client_to_backend"}').
    async metric(prefix) {
      const text = await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith(prefix))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    },
    async stop() {
      if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL');
      await exited;
      const report = logs.findIndex((l) => sanitizerReport.test(l));
      if (report >= 0) throw new Error(`sanitizer report from wsgate:\n${logs.slice(report, report + 40).join('\n')}`);
    },
  };
  await withTimeout(Promise.race([gw.waitLog(/ started |"event":"started"/, 10000), exited.then((e) => {
    throw new Error(`wsgate exited ${JSON.stringify(e)} at start:\n${logs.join('\n')}`);
  })]), 10000, 'wsgate start');
  return gw;
}

// A WebSocket client that records everything it receives, for assertions.
export function connect(url, { protocols, ...options } = {}) {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  const received = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    received.push({ data, isBinary });
    while (waiters.length && received.length) waiters.shift()(received.shift());
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) =>
    resolve({ code, reason: reason.toString(), at: Date.now() })));
  ws.next = (ms = 5000) => withTimeout(new Promise((resolve) => {
    if (received.length) resolve(received.shift()); else waiters.push(resolve);
  }), ms, 'next message');
  ws.opened = new Promise((resolve, reject) => {
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        const err = new Error(`HTTP ${res.statusCode}`);
        err.status = res.statusCode;
        err.headers = res.headers;
        err.body = body;
        reject(err);
      });
    });
  });
  ws.opened.catch(() => {});
  return ws;
}

export async function open(url, options) {
  const ws = connect(url, options);
  await ws.opened;
  return ws;
}

// Sends raw bytes and collects the response until the server closes or `until` matches.
export function rawExchange(port, payload, { until, ms = 5000, keepWriting } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    socket.on('connect', () => { if (payload) socket.write(payload); if (keepWriting) keepWriting(socket); });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (until && until.test(data.toString('latin1'))) { socket.destroy(); resolve(data.toString('latin1')); }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data.toString('latin1')));
  }), ms, 'raw exchange');
}

// A WebSocket session on a raw socket (for frames no client library would send): the upgrade is
// sent, its response head read; `rest()` is every byte after it, `ended` the socket's close.
export async function rawSession(port, pathname, extraHeaders = '', { allowHalfOpen = false } = {}) {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${pathname} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
               `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`);
  let data = Buffer.alloc(0);
  socket.on('data', (c) => { data = Buffer.concat([data, c]); });
  socket.on('error', () => {});
  const ended = new Promise((r) => socket.on('close', r));
  while (!data.includes('\r\n\r\n')) await sleep(10);
  const head = data.subarray(0, data.indexOf('\r\n\r\n') + 4).toString();
  return { socket, head, ended, rest: () => data.subarray(head.length) };
}

// For hand-made WebSocket backends: the 101 that accepts the upgrade request whose head is `head`.
export function upgradeResponse(head) {
  const key = head.toString().match(/sec-websocket-key: *(\S+)/i)[1];
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
         `Sec-WebSocket-Accept: ${accept}\r\n\r\n`;
}

// Resident memory of a process, from /proc.
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]);
}

export function statusOf(response) {
  const m = response.match(/^HTTP\/1\.1 (\d{3})/);
  return m ? Number(m[1]) : null;
}

// A Socket.IO client's first connection (long-polling by default), and the transport it moves to.
export function socketIoConnected(client) {
  return new Promise((resolve, reject) => { client.on('connect', resolve); client.on('connect_error', reject); });
}
export function socketIoUpgraded(client) {
  return new Promise((resolve) => {
    if (client.io.engine.transport.name === 'websocket') resolve('websocket');
    client.io.engine.once('upgrade', (t) => resolve(t.name));
  });
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// A self-signed ECDSA P-256 certificate for `names` (first is the CN), in dir.
export function makeCert(dir, base, names) {
  const cert = path.join(dir, `${base}.crt`);
  const key = path.join(dir, `${base}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${names[0]}`,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`], { stdio: 'ignore' });
  return { cert, key };
}

export function routeYaml(routes, { listeners, extra = '' } = {}) {
  return `threads: 2
listeners:
${listeners ?? '  - { name: public, bind: "127.0.0.1:0" }'}
admin: { bind: "127.0.0.1:0" }
drain: { timeout: 5s }
${extra}
routes:
${routes}
`;
}

// Prometheus (Debian's) on loopback with the shipped deploy/prometheus.yml, its target pointed at
// `target` (host:port of wsgate's admin listener) and scraping every second. Stopped by PID.
export async function startPrometheus(target) {
  const dir = tempDir();
  const port = await freePort();
  const shipped = readFileSync(path.join(root, 'deploy', 'prometheus.yml'), 'utf8');
  const config = shipped.replace('127.0.0.1:9100', target).replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
    .replace(/scrape_timeout: \S+/, 'scrape_timeout: 1s');
  if (!config.includes(target)) throw new Error('deploy/prometheus.yml names no 127.0.0.1:9100 target to replace');
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const proc = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
                                    `--storage.tsdb.path=${path.join(dir, 'data')}`,
                                    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  const logs = [];
  lines(proc.stderr, (l) => logs.push(l));
  const exited = new Promise((r) => proc.on('exit', () => { children.delete(proc); r(); }));
  const base = `http://127.0.0.1:${port}`;
  const prom = {
    proc, logs,
    // The instant vector of `expr` as { 'label=value,...': number }.
    async query(expr) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = await res.json();
      if (body.status !== 'success') throw new Error(`${expr}: ${JSON.stringify(body)}`);
      return Object.fromEntries(body.data.result.map((r) => {
        const { __name__, instance, job, ...labels } = r.metric;
        return [Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','), Number(r.value[1])];
      }));
    },
    // Waits until a scrape has happened since now: the next sample is newer than this call.
    async freshScrape(ms = 10000) {
      const since = Date.now() / 1000;
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('timestamp(up)')}`).then((x) => x.json())
          .catch(() => null);
        const at = r?.data?.result?.[0]?.value?.[1];
        if (at !== undefined && Number(at) > since) return;
        await sleep(200);
      }
      throw new Error(`no scrape within ${ms} ms (prometheus:\n${logs.slice(-5).join('\n')})`);
    },
    async stop() {
      if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL');
      await exited;
    },
  };
  // Ready once its API answers.
  const deadline = Date.now() + 15000;
  for (;;) {
    const ok = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`prometheus did not start:\n${logs.join('\n')}`);
    await sleep(200);
  }
  return prom;
}
