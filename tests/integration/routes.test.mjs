// Route matching through the real binary: an exact path before every prefix, prefixes that match
// whole segments unless they ask for string matching; what the backend sees is the path as sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startGateway, open, connect, routeYaml } from './lib.mjs';

let a, b, c, gw;

before(async () => {
  [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
  gw = await startGateway(routeYaml(`
  - { name: exact, match: { path_exact: /echo/status }, backends: [ "${a.url}" ] }
  - { name: echo, match: { path_prefix: /echo }, backends: [ "${b.url}" ] }
  - { name: loose, match: { path_prefix: /str, prefix_match: string }, backends: [ "${c.url}" ] }`));
});

after(async () => {
  await gw?.stop();
  await Promise.all([a?.kill(), b?.kill(), c?.kill()]);
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
  ]);
});
