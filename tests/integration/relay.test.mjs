// The frame relay through the real binary: payloads, ordering, fragments, control frames, close
// codes both ways, extensions, subprotocols and the per-route limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBackend, startGateway, open, connect, routeYaml, sleep, rawSession, rssKiB } from './lib.mjs';

let backend, gw;

before(async () => {
  backend = await startBackend('w1', { env: { BACKEND_LOG_CLOSE: '1' } });
  gw = await startGateway(routeYaml(`
  - name: echo
    match: { path_prefix: / }
    backends: [ "${backend.url}" ]
  - name: small
    match: { path_prefix: /small }
    backends: [ "${backend.url}" ]
    limits: { max_message: 64KiB }
  - name: strict
    match: { path_prefix: /strict }
    backends: [ "${backend.url}" ]
    limits: { max_message: 64KiB }
  - name: idle
    match: { path_prefix: /idle }
    backends: [ "${backend.url}" ]
    limits: { idle_timeout: 1s, ping_interval: 0s }
  - name: pinged
    match: { path_prefix: /pinged }
    backends: [ "${backend.url}" ]
    limits: { ping_interval: 300ms, pong_timeout: 400ms }
`));
});

after(async () => {
  await gw?.stop();
  await backend?.kill();
});

test('text message round trip', async () => {
  const ws = await open(gw.url('public', '/echo'));
  ws.send('hello through wsgate');
  const m = await ws.next();
  assert.equal(m.isBinary, false);
  assert.equal(m.data.toString(), 'hello through wsgate');
  ws.close();
});

test('1 MiB binary message arrives byte for byte', async () => {
  const ws = await open(gw.url('public', '/echo'));
  const payload = randomBytes(1 << 20);
  ws.send(payload);
  const m = await ws.next(10000);
  assert.equal(m.isBinary, true);
  assert.ok(Buffer.compare(m.data, payload) === 0);
  ws.close();
});

test('1,000 messages arrive in order both ways', async () => {
  const ws = await open(gw.url('public', '/echo'));
  for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
  for (let i = 0; i < 1000; i++) assert.equal((await ws.next()).data.toString(), `m${i}`);
  ws.send('burst 1000 100');  // the backend sends 1,000 numbered messages
  for (let i = 0; i < 1000; i++) {
    const text = (await ws.next()).data.toString();
    assert.equal(text.length, 100);
    assert.ok(text.startsWith(`${i}:`), `message ${i} was ${text.slice(0, 10)}`);
  }
  ws.close();
});

test('fragmented messages both ways', async () => {
  const ws = await open(gw.url('public', '/echo'));
  ws.send('abc', { fin: false });
  ws.send('def', { fin: false });
  ws.send('ghi', { fin: true });
  assert.equal((await ws.next()).data.toString(), 'abcdefghi');
  ws.send('fragmented');
  assert.equal((await ws.next()).data.toString(), 'frag-ment-ed');
  ws.close();
});

test('ping from the client is answered by the backend', async () => {
  const ws = await open(gw.url('public', '/echo'));
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('are you there');
  assert.equal((await pong).toString(), 'are you there');
  ws.close();
});

test('close code and reason travel client to backend', async () => {
  const ws = await open(gw.url('public', '/echo'));
  ws.close(4001, 'client says bye');
  const closed = await ws.closed;
  assert.equal(closed.code, 4001);  // the backend echoes the code back
  const seen = () => backend.output.some((l) => l.includes('"closed":4001') && l.includes('client says bye'));
  for (const deadline = Date.now() + 5000; !seen() && Date.now() < deadline;) await sleep(20);
  assert.ok(seen(), backend.output.join('\n'));
  await gw.waitLog(/session_closed .*reason="client closed"/);
});

test('close code and reason travel backend to client', async () => {
  const ws = await open(gw.url('public', '/echo'));
  ws.send('close 4002 server says bye');
  const closed = await ws.closed;
  assert.equal(closed.code, 4002);
  assert.equal(closed.reason, 'server says bye');
});

test('permessage-deflate is negotiated end to end', async () => {
  const ws = await open(gw.url('public', '/echo'), { perMessageDeflate: true });
  assert.match(ws.extensions, /permessage-deflate/);
  const text = 'compress me '.repeat(10000);
  ws.send(text);
  assert.equal((await ws.next()).data.toString(), text);
  ws.send('extensions');
  assert.match((await ws.next()).data.toString(), /permessage-deflate/);
  ws.close();
});

test('the backend selects the subprotocol', async () => {
  const ws = await open(gw.url('public', '/echo'), { protocols: ['unknown.v9', 'chat.v1'] });
  assert.equal(ws.protocol, 'chat.v1');
  ws.close();
});

test('a message over max_message closes with 1009 and others go on', async () => {
  const bystander = await open(gw.url('public', '/small'));
  const ws = await open(gw.url('public', '/small'));
  ws.send(Buffer.alloc(64 * 1024));  // exactly the limit: fine
  assert.equal((await ws.next()).data.length, 64 * 1024);
  ws.send(Buffer.alloc(64 * 1024 + 1));
  const closed = await ws.closed;
  assert.equal(closed.code, 1009);
  assert.equal(closed.reason, 'message too big');
  bystander.send('still here');
  assert.equal((await bystander.next()).data.toString(), 'still here');
  bystander.close();
});

test('after a 1009 or a 1002 the session ends when the client does, not after the close linger', async () => {
  const durations = async (n) => gw.logs.filter((l) => / session_closed route=strict /.test(l))
    .slice(n).map((l) => Number(/duration_ms=(\d+)/.exec(l)[1]));
  const before = 0;  // the route is this test's alone
  const t0 = Date.now();
  const ws = await open(gw.url('public', '/strict'));
  ws.send(Buffer.alloc(64 * 1024 + 1));
  assert.equal((await ws.closed).code, 1009);
  // A raw client sends an unmasked frame (1002), answers the close, and ends its side.
  const raw = await rawSession(gw.ports.public, '/strict');
  raw.socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));  // FIN text "hi", no mask
  while (!raw.rest().includes(Buffer.from([0x88]))) await sleep(10);
  assert.equal(raw.rest().readUInt16BE(raw.rest().indexOf(0x88) + 2), 1002);
  raw.socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xea]));  // masked close 1002, then FIN
  await raw.ended;
  const deadline = Date.now() + 5000;
  while ((await durations(before)).length < 2 && Date.now() < deadline) await sleep(20);
  const ended = await durations(before);
  assert.equal(ended.length, 2, 'both sessions logged their end');
  for (const ms of ended) assert.ok(ms < 1500, `session held ${ms} ms (the linger is 3000)`);
  assert.ok(Date.now() - t0 < 2500);
});

// RFC 6455 7.1.1: the server closes the TCP connection first. Waiting for the client's FIN instead
// cost a shutdown, a wait and a read per session, and held a client that never sends it (one that
// keeps its half open) for the whole close linger.
test("once the client's close is answered, the session ends without waiting for the client's FIN", async () => {
  const closedBefore = gw.logs.filter((l) => / session_closed route=echo /.test(l)).length;
  const raw = await rawSession(gw.ports.public, '/', '', { allowHalfOpen: true });
  const fin = new Promise((r) => raw.socket.once('end', () => r(Date.now())));
  const t0 = Date.now();
  raw.socket.write(Buffer.from([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]));  // masked close 1000; no FIN
  const at = await Promise.race([fin, sleep(5000).then(() => null)]);
  assert.ok(at, 'the gateway sent its FIN');
  const reply = raw.rest();
  assert.equal(reply.length, 4, 'exactly the close reply, before the FIN');
  assert.equal(reply[0], 0x88);
  assert.equal(reply.readUInt16BE(2), 1000);
  const deadline = Date.now() + 5000;
  let ended;
  while (!(ended = gw.logs.filter((l) => / session_closed route=echo /.test(l))[closedBefore]) && Date.now() < deadline)
    await sleep(10);
  assert.ok(ended, 'the session ended');
  assert.match(ended, /reason="client closed"/);
  const ms = Number(/duration_ms=(\d+)/.exec(ended)[1]);
  assert.ok(Date.now() - t0 < 1000 && ms < 1000, `the session ended after ${Date.now() - t0} ms (the close linger is 3000)`);
  raw.socket.destroy();
});

test('an idle session is closed with 1001 after idle_timeout', async () => {
  const ws = await open(gw.url('public', '/idle'));
  const t0 = Date.now();
  const closed = await ws.closed;
  assert.equal(closed.code, 1001);
  assert.equal(closed.reason, 'idle timeout');
  const elapsed = closed.at - t0;
  assert.ok(elapsed >= 900 && elapsed < 4000, `closed after ${elapsed} ms`);
});

test('the gateway pings a silent client and closes one that never answers', async () => {
  const alive = await open(gw.url('public', '/pinged'));
  const pinged = new Promise((resolve) => alive.once('ping', resolve));
  await pinged;  // answered automatically by ws
  const dead = await open(gw.url('public', '/pinged'), { autoPong: false });
  const closed = await dead.closed;
  assert.equal(closed.code, 1001);
  assert.equal(closed.reason, 'pong timeout');
  assert.equal(alive.readyState, 1, 'the client that answers stays open');
  alive.close();
});

// Raw frames for what a well-behaved client library will not send.
test('an unmasked client frame gets close 1002', async () => {
  const s = await rawSession(gw.ports.public, '/echo');
  assert.match(s.head, /^HTTP\/1\.1 101/);
  s.socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));  // "hi", not masked
  await s.ended;
  const frame = s.rest();
  assert.equal(frame[0], 0x88, 'a close frame');
  assert.equal(frame.readUInt16BE(2), 1002);
  assert.equal(frame.subarray(4, 2 + frame[1]).toString(), 'unmasked client frame');
});

test('a reserved opcode gets close 1002', async () => {
  const s = await rawSession(gw.ports.public, '/echo');
  s.socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]));  // opcode 3, masked, empty
  await s.ended;
  assert.equal(s.rest().readUInt16BE(2), 1002);
});

test('a client that stops reading stalls the backend instead of filling the gateway', async () => {
  const ws = await open(gw.url('public', '/echo'));
  const before = rssKiB(gw.proc.pid);
  ws._socket.pause();  // stop reading: the kernel buffers fill, then the gateway must stop reading too
  ws.send('burst 300 100000');  // 30 MB from the backend
  await sleep(1500);
  const during = rssKiB(gw.proc.pid);
  assert.ok(during - before < 8 * 1024, `gateway RSS grew by ${during - before} KiB while the client did not read`);
  ws._socket.resume();
  for (let i = 0; i < 300; i++) {
    const text = (await ws.next(10000)).data.toString();
    assert.ok(text.startsWith(`${i}:`) && text.length === 100000, `message ${i}`);
  }
  ws.close();
});

test('a session that went quiet after large messages relays both ways again', async () => {
  // Large messages move a direction to its bulk buffer; 2 s of quiet give it back by cancelling
  // the pending read (and any other wait on that socket), which must resume without loss.
  const ws = await open(gw.url('public', '/echo'));
  const big = randomBytes(200000);
  ws.send(big);
  assert.ok(Buffer.compare((await ws.next()).data, big) === 0);
  await sleep(2600);
  ws.send('small after quiet');
  assert.equal((await ws.next()).data.toString(), 'small after quiet');
  const again = randomBytes(300000);
  ws.send(again);
  assert.ok(Buffer.compare((await ws.next()).data, again) === 0);
  ws.send('burst 50 20000');
  for (let i = 0; i < 50; i++) assert.ok((await ws.next()).data.toString().startsWith(`${i}:`));
  ws.close();
});
