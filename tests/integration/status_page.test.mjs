// The admin status page in a real browser (Debian's chromium, headless, driven over the DevTools
// protocol): against a gateway with two routes and three workers it shows the routes and each
// backend's health, notices a backend turning unhealthy within two refreshes, and its Drain button
// drains the backend through the API. A screenshot is kept as BUILD/Testing/integration/status_page.png.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir, startBackend, startGateway, open, routeYaml, sleep } from './lib.mjs';
import { startChromium as launch, until } from './browser.mjs';

const cleanup = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });
const startChromium = (flags) => launch(cleanup, flags);

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
