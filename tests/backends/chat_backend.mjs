// A WebSocket backend for the demo and the integration tests: echo on /echo (and any other path),
// broadcast chat on /chat, plus a few text commands the tests use. Prints {"port":N} when ready.
//   node chat_backend.mjs --port 0 --name worker-1 [--host 127.0.0.1] [--cert C --key K]
//                         [--upgrade-delay MS]  (answer each upgrade MS late: a slow 101)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) =>
    (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const name = args.name ?? 'worker';
const host = args.host ?? '127.0.0.1';

const handler = (req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ok ${name}\n`);
    return;
  }
  // Anything else: describe the request, so tests can see what the gateway forwarded.
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(JSON.stringify({ backend: name, method: req.method, url: req.url,
                             headers: req.headers, body: Buffer.concat(chunks).toString() }));
  });
};
// With --cert/--key the backend speaks TLS (wss://), for the gateway's upstream TLS.
const server = args.cert
  ? https.createServer({ cert: readFileSync(args.cert), key: readFileSync(args.key) }, handler)
  : http.createServer(handler);

const supported = ['chat.v2', 'chat.v1'];
const wss = new WebSocketServer({
  server,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (offered) => supported.find((p) => offered.has(p)) ?? false,
  ...(args['upgrade-delay'] ? {
    verifyClient: (info, done) => setTimeout(() => done(true), Number(args['upgrade-delay'])),
  } : {}),
});

wss.on('connection', (ws, req) => {
  const chat = req.url.startsWith('/chat');
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (text === 'whoami') return ws.send(name);
      if (text === 'headers') return ws.send(JSON.stringify({ url: req.url, headers: req.headers }));
      if (text === 'extensions') return ws.send(ws.extensions || '');
      if (text.startsWith('close ')) {
        const [, code, ...reason] = text.split(' ');
        return ws.close(Number(code), reason.join(' '));
      }
      if (text === 'fragmented') {  // one message in three frames
        ws.send('frag-', { fin: false });
        ws.send('ment-', { fin: false });
        return ws.send('ed', { fin: true });
      }
      if (text.startsWith('burst ')) {  // "burst N SIZE": N messages of SIZE bytes, numbered
        const [, n, size] = text.split(' ').map(Number);
        for (let i = 0; i < n; i++) ws.send(`${i}:`.padEnd(size, 'x'));
        return;
      }
    }
    if (chat) {
      for (const peer of wss.clients) if (peer.readyState === 1) peer.send(data, { binary: isBinary });
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
  ws.on('close', (code, reason) => {
    if (process.env.BACKEND_LOG_CLOSE) console.log(JSON.stringify({ closed: code, reason: reason.toString() }));
  });
});

server.listen(Number(args.port ?? 0), host, () => {
  console.log(JSON.stringify({ port: server.address().port, name }));
});
process.on('SIGTERM', () => process.exit(0));
