// Routes through the real binary: an exact path before every prefix, prefixes that match whole
// segments unless they ask for string matching, path rewrites (a Socket.IO app published under a
// prefix of the gateway's), and an operator's header rules towards the backend and back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { startBackend, startGateway, open, connect, routeYaml, socketIoConnected, socketIoUpgraded } from './lib.mjs';

let a, b, c, gw, httpServer, ioServer, spread;
const socketIoRequests = [];  // the paths the Socket.IO app was asked for

before(async () => {
  [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
  spread = await Promise.all(['s1', 's2', 's3'].map((n) => startBackend(n)));
  // A Socket.IO app that serves /socket.io/ only, as it would alone on its own port.
  httpServer = http.createServer();
  ioServer = new Server(httpServer);
  // After the Server: engine.io takes over the listeners there before it.
  httpServer.prependListener('request', (req) => socketIoRequests.push(req.url));
  httpServer.prependListener('upgrade', (req) => socketIoRequests.push(req.url));
  ioServer.on('connection', (socket) => {
    socket.on('echo', (msg, ack) => ack({ echoed: msg, transport: socket.conn.transport.name }));
  });
  const ioPort = await new Promise((r) => httpServer.listen(0, '127.0.0.1', () => r(httpServer.address().port)));
  gw = await startGateway(routeYaml(`
  - { name: exact, match: { path_exact: /echo/status }, backends: [ "${a.url}" ] }
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${b.url}" ] }
  - { name: loose, match: { path_prefix: /str, prefix_match: string }, backends: [ "${c.url}" ] }
  - { name: app1, match: { path_prefix: /app1 }, rewrite: { strip_prefix: true }, backends: [ "ws://127.0.0.1:${ioPort}" ] }
  - { name: least, match: { path_prefix: /least }, balance: least_sessions, backends: [ ${spread.map((s) => `"${s.url}"`).join(', ')} ] }
  - { name: turns, match: { path_prefix: /turns }, balance: round_robin, backends: [ ${spread.map((s) => `"${s.url}"`).join(', ')} ] }
  - name: v1
    match: { path_prefix: /v1 }
    rewrite: { replace_prefix: /internal/v2 }
    request_headers: { set: { X-Env: prod }, remove: [ X-Debug ] }
    response_headers: { set: { Strict-Transport-Security: "max-age=600", Access-Control-Allow-Origin: "https://app.example" } }
    backends: [ "${a.url}" ]`));
});

after(async () => {
  await gw?.stop();
  await Promise.all([a?.kill(), b?.kill(), c?.kill(), ...(spread ?? []).map((s) => s.kill())]);
  ioServer?.close();
  httpServer?.close();
});

async function whoami(pathname) {
  const ws = connect(gw.url('public', pathname));
  try {
    await ws.opened;
  } catch (err) {
    return err.status;
  }
  ws.send('whoami');
  const name = (await ws.next()).data.toString();
  ws.close();
  return name;
}

test('an exact path wins over a longer-standing prefix, and only that path', async () => {
  assert.equal(await whoami('/echo/status'), 'a');
  assert.equal(await whoami('/echo/status?x=1'), 'a', 'the query is not the path');
  assert.equal(await whoami('/echo/status/'), 'b', 'a trailing slash is another path: the prefix takes it');
  assert.equal(await whoami('/echo/statusX'), 'b');
});

test('a prefix matches whole segments: /echo takes /echo and /echo/..., never /echoXYZ', async () => {
  assert.equal(await whoami('/echo'), 'b');
  assert.equal(await whoami('/echo/room/7'), 'b');
  assert.equal(await whoami('/echoXYZ'), 404);
  const res = await fetch(`http://127.0.0.1:${gw.ports.public}/echo.json`);
  assert.equal(res.status, 404, 'plain requests match the same way');
  await res.text();
});

test('prefix_match: string keeps plain string prefixes', async () => {
  assert.equal(await whoami('/strange'), 'c');
  assert.equal(await whoami('/str/x'), 'c');
});

test('the admin API shows how each route matches', async () => {
  const routes = await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/routes`)).json();
  assert.deepEqual(routes.map((r) => r.match), [
    { host: '', path_exact: '/echo/status' },
    { host: '', path_prefix: '/echo', prefix_match: 'segment' },
    { host: '', path_prefix: '/str', prefix_match: 'string' },
    { host: '', path_prefix: '/app1', prefix_match: 'segment' },
    { host: '', path_prefix: '/least', prefix_match: 'segment' },
    { host: '', path_prefix: '/turns', prefix_match: 'segment' },
    { host: '', path_prefix: '/v1', prefix_match: 'segment' },
  ]);
});

test('a Socket.IO app published under /app1 with strip_prefix: polling, then the upgrade', async () => {
  const client = connectClient(`http://127.0.0.1:${gw.ports.public}`, { path: '/app1/socket.io/', reconnection: false });
  try {
    await socketIoConnected(client);
    assert.equal(await socketIoUpgraded(client), 'websocket');
    const reply = await client.timeout(3000).emitWithAck('echo', { n: 7 });
    assert.deepEqual(reply, { echoed: { n: 7 }, transport: 'websocket' });
  } finally {
    client.close();
  }
  assert.ok(socketIoRequests.some((u) => /^\/socket\.io\/\?.*transport=polling/.test(u)), socketIoRequests.join('\n'));
  assert.ok(socketIoRequests.some((u) => /^\/socket\.io\/\?.*transport=websocket/.test(u)), socketIoRequests.join('\n'));
  assert.ok(socketIoRequests.every((u) => u.startsWith('/socket.io/')), 'the app never sees /app1');
});

test('replace_prefix and header rules: the backend sees the new path and the operator\'s fields', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.ports.public}/v1/rooms/7?x=1`,
                          { headers: { 'x-env': 'client', 'x-debug': 'yes', 'x-other': 'kept' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('strict-transport-security'), 'max-age=600');
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
  const seen = await res.json();
  assert.equal(seen.url, '/internal/v2/rooms/7?x=1');
  assert.equal(seen.headers['x-env'], 'prod');
  assert.equal(seen.headers['x-debug'], undefined);
  assert.equal(seen.headers['x-other'], 'kept');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');

  // The same on an upgrade: its 101 carries the response fields, the backend the request's.
  const ws = connect(gw.url('public', '/v1'), { headers: { 'x-debug': '1' } });
  const upgrade = new Promise((resolve) => ws.on('upgrade', (r) => resolve(r.headers)));
  await ws.opened;
  assert.equal((await upgrade)['strict-transport-security'], 'max-age=600');
  ws.send('headers');
  const view = JSON.parse((await ws.next()).data.toString());
  assert.equal(view.url, '/internal/v2');
  assert.equal(view.headers['x-env'], 'prod');
  assert.equal(view.headers['x-debug'], undefined);
  ws.close();
});

// Every client from one address (one hash key): hashing would put all 200 on one backend.
test('least_sessions spreads 200 sessions over three backends within one, opened ten at a time', async () => {
  const sessions = [];
  for (let i = 0; i < 20; i++) {
    sessions.push(...await Promise.all(Array.from({ length: 10 }, () => open(gw.url('public', '/least')))));
  }
  const names = await Promise.all(sessions.map(async (ws) => { ws.send('whoami'); return (await ws.next()).data.toString(); }));
  const counts = { s1: 0, s2: 0, s3: 0 };
  for (const n of names) counts[n]++;
  const values = Object.values(counts);
  assert.ok(Math.max(...values) - Math.min(...values) <= 1, JSON.stringify(counts));
  assert.equal(values.reduce((x, y) => x + y), 200);
  // Twenty sessions of s2 end: the next nineteen all go to s2 (the twentieth may tie).
  const ofS2 = sessions.filter((_, i) => names[i] === 's2').slice(0, 20);
  await Promise.all(ofS2.map((ws) => { ws.close(1000); return ws.closed; }));
  for (let i = 0; i < 100 && (await (await fetch(`http://127.0.0.1:${gw.ports.admin}/api/backends`)).json())
    .find((x) => x.url === spread[1].url).load !== counts.s2 - 20; i++) await new Promise((r) => setTimeout(r, 50));
  const next = [];
  for (let i = 0; i < 19; i++) next.push(await open(gw.url('public', '/least')));
  const nextNames = await Promise.all(next.map(async (ws) => { ws.send('whoami'); return (await ws.next()).data.toString(); }));
  assert.deepEqual([...new Set(nextNames)], ['s2']);
  await Promise.all([...sessions, ...next].map((ws) => { ws.close(1000); return ws.closed; }));
});

test('round_robin takes each backend in turn', async () => {
  const names = [];
  for (let i = 0; i < 9; i++) {
    const res = await fetch(`http://127.0.0.1:${gw.ports.public}/turns/x`);
    names.push((await res.json()).backend);
  }
  const counts = {};
  for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
  assert.deepEqual(counts, { s1: 3, s2: 3, s3: 3 }, names.join(' '));
  for (let i = 3; i < 9; i++) assert.equal(names[i], names[i - 3], 'the same cycle');
});
