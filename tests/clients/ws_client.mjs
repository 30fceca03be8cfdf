// A small command-line WebSocket client: each stdin line is sent as a text message, each message
// received is printed. Usage: node ws_client.mjs URL [--ca FILE] [--protocol P]
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import WebSocket from 'ws';

const [url, ...rest] = process.argv.slice(2);
if (!url) {
  console.error('usage: node ws_client.mjs ws://HOST:PORT/PATH [--ca FILE] [--protocol P] [--token T]');
  process.exit(2);
}
const opt = (name) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined; };
const headers = opt('--token') ? { authorization: `Bearer ${opt('--token')}` } : {};
const ws = new WebSocket(url, opt('--protocol') ? [opt('--protocol')] : [],
                         { ca: opt('--ca') ? readFileSync(opt('--ca')) : undefined, headers });
ws.on('open', () => {
  console.error(`connected to ${url}${ws.protocol ? ` (protocol ${ws.protocol})` : ''}`);
  readline.createInterface({ input: process.stdin }).on('line', (line) => ws.send(line))
    .on('close', () => ws.close(1000, 'bye'));
});
ws.on('message', (data, isBinary) => console.log(isBinary ? `<${data.length} bytes>` : data.toString()));
ws.on('unexpected-response', (req, res) => { console.error(`HTTP ${res.statusCode}`); process.exit(1); });
ws.on('close', (code, reason) => { console.error(`closed ${code} ${reason}`); process.exit(0); });
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
