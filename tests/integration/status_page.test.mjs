// The admin status page in a real browser (Debian's chromium, headless, driven over the DevTools
// protocol): against a gateway with two routes and three workers it shows the routes and each
// backend's health, notices a backend turning unhealthy within two refreshes, and its Drain button
// drains the backend through the API. A screenshot is kept as BUILD/Testing/integration/status_page.png.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { tempDir, startBackend, startGateway, open, routeYaml, sleep } from './lib.mjs';

const cleanup = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

// Chromium with remote debugging on a port it picks; resolves with a DevTools client of its page.
async function startChromium() {
  const profile = tempDir();
  const proc = spawn('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
                                  '--disable-dev-shm-usage', '--remote-debugging-address=127.0.0.1',
                                  '--remote-debugging-port=0', `--user-data-dir=${profile}`,
                                  '--window-size=1440,1000', 'about:blank'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => proc.on('exit', r));
  cleanup.push(async () => { if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGKILL'); await exited; });
  const port = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 20000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`chromium exited ${code}:\n${err}`)));
  });
  const pages = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const page = pages.find((p) => p.type === 'page');
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let next = 0;
  const waiting = new Map();
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString());
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${r.exceptionDetails.text} ${r.exceptionDetails.exception?.description ?? ""} in: ${expression}`);
    return r.result.value;
  };
  cleanup.push(() => ws.close());
  return { send, evaluate };
}

async function until(what, check, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

test('the status page shows routes and backend health, follows a backend going down, and drains one', async () => {
  const workers = [];
  for (const name of ['alpha', 'beta', 'gamma']) workers.push(await startBackend(name));
  cleanup.push(async () => { for (const w of workers) await w.kill(); });
  const list = workers.map((w) => `"${w.url}"`).join(', ');
  const gw = await startGateway(routeYaml(`
  - name: chat
    match: { path_prefix: /chat }
    hash_key: [ "header:X-User" ]
    balance_factor: 1.25
    affinity_ttl: 5m
    health_check: { path: /healthz, interval: 500ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 1 }
    backends: [ ${list} ]
  - name: echo
    match: { path_prefix: /echo }
    backends: [ ${list} ]`));
  cleanup.push(() => gw.stop());
  const sessions = [];
  for (let i = 0; i < 9; i++) {
    const ws = await open(gw.url('public', i % 3 ? '/chat' : '/echo'), { headers: { 'x-user': `u${i}` } });
    sessions.push(ws);
  }
  cleanup.push(() => { for (const s of sessions) s.close(); });
  // Some traffic, so the rates and the sparklines have something to draw.
  const pump = setInterval(() => { for (const s of sessions) if (s.readyState === 1) s.send('tick'); }, 100);
  cleanup.push(() => clearInterval(pump));
  await fetch(`http://127.0.0.1:${gw.ports.public}/nowhere`);  // one 404 for the rejections

  const browser = await startChromium();
  await browser.send('Page.enable');
  await browser.send('Page.navigate', { url: `http://127.0.0.1:${gw.ports.admin}/` });
  await until('the first render', () => browser.evaluate('Number(document.body?.dataset.refreshes || 0) >= 1'));
  const routes = await browser.evaluate('[...document.querySelectorAll("[data-route]")].map((e) => e.dataset.route)');
  assert.deepEqual(routes, ['chat', 'echo']);
  const health = () => browser.evaluate(
    'Object.fromEntries([...document.querySelectorAll("tr[data-backend]")].map((r) => [r.dataset.backend, r.dataset.health]))');
  await until('every backend healthy', async () => Object.values(await health()).every((h) => h === 'healthy'));
  assert.deepEqual(Object.keys(await health()).sort(), workers.map((w) => w.url).sort());
  await until('live sessions shown', () => browser.evaluate(
    'document.querySelector(".tile .v").textContent === "9"'));

  // gamma goes down: the page shows it within two refreshes of the gateway noticing.
  const gamma = workers[2];
  await gamma.kill();
  await gw.waitLog(new RegExp(`backend_unhealthy backend=${gamma.url.replace(/[./]/g, '\\$&')}`));
  const noticed = Date.now();
  const refreshesThen = await browser.evaluate('Number(document.body.dataset.refreshes)');
  await until('gamma unhealthy on the page', async () => (await health())[gamma.url] === 'unhealthy', 6000);
  const refreshesAfter = await browser.evaluate('Number(document.body.dataset.refreshes)');
  assert.ok(refreshesAfter - refreshesThen <= 2, `seen after ${refreshesAfter - refreshesThen} refreshes (${Date.now() - noticed} ms)`);

  // Wait for a sparkline with a few points, then keep a picture of the page.
  await until('rates drawn', () => browser.evaluate('document.querySelectorAll("svg.spark polyline").length >= 2'), 12000);
  const shot = await browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  const dir = process.env.WSGATE_TEST_ARTIFACTS ? path.dirname(process.env.WSGATE_TEST_ARTIFACTS) : tempDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'status_page.png');
  writeFileSync(file, Buffer.from(shot.data, 'base64'));
  console.log(`screenshot: ${file}`);

  // Drain alpha with its button: the API says so, and the page shows it.
  const alpha = workers[0];
  await browser.evaluate(`document.querySelector('tr[data-backend="${alpha.url}"] button[data-action="drain"]').click()`);
  await until('alpha draining in the API', async () => {
    const backends = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/backends`)).json();
    return backends.find((b) => b.url === alpha.url).mode === 'draining';
  });
  await until('alpha draining on the page', () => browser.evaluate(
    `document.querySelector('tr[data-backend="${alpha.url}"]').dataset.mode === 'draining'`));
  await gw.waitLog(/ admin_action client=127\.0\.0\.1 action=drain /);
});
