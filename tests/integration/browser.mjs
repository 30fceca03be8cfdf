// Debian's chromium, headless, driven over the DevTools protocol, for the tests of what a person
// looks at or a browser does. Not a test file itself (CTest runs *.test.mjs).
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { tempDir, sleep } from './lib.mjs';

// `cleanup`: where the browser's stop goes (run by the test file's after()).
// Chromium with remote debugging on a port it picks; resolves with a DevTools client of its page.
export async function startChromium(cleanup, flags = []) {
  const profile = tempDir();
  const proc = spawn('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
                                  '--disable-dev-shm-usage', '--remote-debugging-address=127.0.0.1',
                                  '--remote-debugging-port=0', `--user-data-dir=${profile}`,
                                  '--window-size=1440,1000', ...flags, 'about:blank'],
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

export async function until(what, check, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

