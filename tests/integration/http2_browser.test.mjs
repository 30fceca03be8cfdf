// WebSockets over HTTP/2 from a real browser (Debian's chromium, headless): a page loaded over
// https:// from wsgate opens sockets to its own origin, and wsgate's metrics and logs show they rode
// the page's HTTP/2 connection (one TCP connection, RFC 8441 streams). Echo, binary, a close code
// and a JWT in the query behave as over HTTP/1.1, which the same page gets from a listener with
// http2: false.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { wsgateBin, tempDir, startBackend, startGateway, makeCert, routeYaml } from './lib.mjs';
import { startChromium, until } from './browser.mjs';

const cleanup = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

// What the page runs: three sockets to its own origin, one after another.
const script = (token) => `(async () => {
  const open = (path) => new Promise((resolve, reject) => {
    const ws = new WebSocket('wss://' + location.host + path);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('socket to ' + path + ' failed'));
  });
  const next = (ws) => new Promise((r) => ws.addEventListener('message', (e) => r(e.data), { once: true }));
  const closed = (ws) => new Promise((r) => { ws.onclose = (e) => r({ code: e.code, reason: e.reason }); });
  const out = {};
  const echo = await open('/echo/page');
  echo.send('hello from chromium');
  out.text = await next(echo);
  echo.send(new Uint8Array([1, 2, 254]).buffer);
  out.binary = Array.from(new Uint8Array(await next(echo)));
  const ended = closed(echo);
  echo.send('close 4001 done here');  // the backend closes with this code
  out.close = await ended;
  const secure = await open('/secure/room?access_token=${token}');
  secure.send('headers');
  out.seen = JSON.parse(await next(secure));
  secure.close(1000, 'bye');
  out.secureClose = await closed(secure);
  out.refused = await open('/secure/room').then(() => 'opened', (e) => e.message);
  return out;
})()`;

async function run(http2) {
  const dir = tempDir();
  const secretFile = path.join(dir, 'dev.secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64'));
  const cert = makeCert(dir, 'gw', ['localhost']);
  const backend = await startBackend(`page-${http2}`);
  cleanup.push(() => backend.kill());
  const gw = await startGateway(routeYaml(`
  - { name: secure, match: { path_prefix: /secure }, auth: dev, backends: [ "${backend.url}" ] }
  - { name: echo, match: { path_prefix: / }, backends: [ "${backend.url}" ] }`, {
    listeners: `  - name: secure
    bind: "127.0.0.1:0"
    http2: ${http2}
    tls: { certificates: [ { cert: ${cert.cert}, key: ${cert.key} } ] }`,
    extra: `auth:
  providers:
    - name: dev
      issuer: wsgate-dev
      algorithms: [ HS256 ]
      keys: [ { secret_file: ${secretFile} } ]
      token_from: [ "query:access_token" ]
      forward_claims: { sub: X-User-Id }`,
  }), { dir });
  cleanup.push(() => gw.stop());
  const token = execFileSync(wsgateBin, ['token', '--secret-file', secretFile, '--sub', 'carol', '--iss', 'wsgate-dev'],
                             { encoding: 'utf8' }).trim();
  const browser = await startChromium(cleanup, ['--ignore-certificate-errors']);
  // The page: any document of the origin (the backend describes the request as JSON).
  const url = `https://localhost:${gw.ports.secure}/page`;
  await browser.send('Page.navigate', { url });
  await until('the page loaded', () => browser.evaluate(`location.href === '${url}' && document.readyState === 'complete'`));
  const page = JSON.parse(await browser.evaluate('document.body.innerText'));
  const out = await browser.evaluate(script(token));
  return { gw, page, out };
}

function checkSameBehaviour(out) {
  assert.equal(out.text, 'hello from chromium');
  assert.deepEqual(out.binary, [1, 2, 254]);
  assert.deepEqual(out.close, { code: 4001, reason: 'done here' });
  assert.equal(out.seen.headers['x-user-id'], 'carol');
  assert.equal(out.seen.url, '/secure/room');
  assert.deepEqual(out.secureClose, { code: 1000, reason: 'bye' });
  assert.match(out.refused, /failed/, 'no token: the upgrade is refused (401)');
}

test('Chromium opens its WebSockets on the page\'s HTTP/2 connection', async () => {
  const { gw, page, out } = await run(true);
  assert.equal(page.method, 'GET');
  checkSameBehaviour(out);
  // No connection of the sockets' own: every connection chose h2 (Chromium may open a spare one
  // beside the page's), fewer than one per socket, and the three sockets were streams on them.
  const connections = await gw.metric('wsgate_connections_total{listener="secure"}');
  assert.ok(connections < 4, `${connections} connections for a page and three sockets`);
  assert.equal(await gw.metric('wsgate_http2_connections_total{listener="secure"}'), connections);
  assert.equal(await gw.metric('wsgate_http2_streams_total{listener="secure",kind="websocket"}'), 3);
  await gw.waitLog(/access .*path=\/echo\/page status=101 .*protocol=h2/);
  await gw.waitLog(/request_rejected status=401 route=secure .*protocol=h2/);
});

test('with http2: false the same page gets HTTP/1.1 WebSockets that behave the same', async () => {
  const { gw, out } = await run(false);
  checkSameBehaviour(out);
  assert.equal(await gw.metric('wsgate_http2_connections_total{listener="secure"}'), 0);
  assert.ok(await gw.metric('wsgate_connections_total{listener="secure"}') >= 4, 'a connection per socket');
  await gw.waitLog(/access .*path=\/echo\/page status=101 .*protocol=http\/1\.1/);
});
