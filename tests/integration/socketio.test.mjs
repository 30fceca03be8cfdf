// A Socket.IO app behind the real binary with the default transports: HTTP long-polling first
// (plain proxied requests), then the upgrade to WebSocket on the same worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { startGateway, routeYaml, socketIoConnected, socketIoUpgraded } from './lib.mjs';

let httpServer, ioServer, gw;
const transportsSeen = [];

before(async () => {
  httpServer = http.createServer();
  ioServer = new Server(httpServer);
  ioServer.on('connection', (socket) => {
    transportsSeen.push(socket.conn.transport.name);
    socket.on('echo', (msg, ack) => ack({ echoed: msg, transport: socket.conn.transport.name }));
    socket.on('join', (room) => { socket.join(room); socket.to(room).emit('joined', socket.id); });
  });
  const port = await new Promise((r) => httpServer.listen(0, '127.0.0.1', () => r(httpServer.address().port)));
  gw = await startGateway(routeYaml(`
  - name: socketio
    match: { path_prefix: /socket.io/ }
    backends: [ "ws://127.0.0.1:${port}" ]`));
});

after(async () => {
  await gw?.stop();
  ioServer?.close();
  httpServer?.close();
});

test('polling first, then the upgrade to websocket, and events both ways', async () => {
  const client = connectClient(`http://127.0.0.1:${gw.ports.public}`, { reconnection: false });
  try {
    await socketIoConnected(client);
    assert.equal(transportsSeen.at(-1), 'polling', 'Socket.IO starts with long-polling');
    assert.equal(await socketIoUpgraded(client), 'websocket');
    const reply = await client.timeout(3000).emitWithAck('echo', { n: 42 });
    assert.deepEqual(reply, { echoed: { n: 42 }, transport: 'websocket' });
    await gw.waitLog(/session_open route=socketio/);
  } finally {
    client.close();
  }
});

test('a polling-only client works through the plain HTTP proxy', async () => {
  const client = connectClient(`http://127.0.0.1:${gw.ports.public}`,
                               { reconnection: false, transports: ['polling'] });
  try {
    await socketIoConnected(client);
    const replies = await Promise.all([1, 2, 3].map((n) => client.timeout(3000).emitWithAck('echo', n)));
    assert.deepEqual(replies.map((r) => r.echoed), [1, 2, 3]);
    assert.equal(replies[0].transport, 'polling');
  } finally {
    client.close();
  }
});
