#!/usr/bin/env node
// ui_timing.mjs - the web page's weight and time to first results in
// headless Chromium (issue 17), over the DevTools protocol: for each
// query, a load of BASE/?q=QUERY in one tab (the first load cold, the
// rest with the browser's cache as a user's would be), the time from
// navigation start to the first result card in the grid and to the first
// thumbnail decoded (null when none loads: bench_query's synthetic images
// have no files), measured inside the page (performance.now, a
// MutationObserver injected before the page's own script), and the bytes
// and requests the load transferred (Network.loadingFinished).
// Not a test: prints JSON.
//
// usage: node --experimental-websocket bench/ui_timing.mjs BASE_URL [QUERY...]
//   BASE_URL  a running `omnidex serve` (for example http://127.0.0.1:8080)
//   CHROME    the browser (default /usr/bin/chromium)
// Needs Node.js 20.10 or later (its WebSocket client) and Debian's chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = (process.argv[2] || '').replace(/\/$/, '');
const queries = process.argv.length > 3 ? process.argv.slice(3) : ['bar chart', 'sunset beach', '表格', 'invoice total'];
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node --experimental-websocket bench/ui_timing.mjs BASE_URL [QUERY...]');
  process.exit(2);
}
if (typeof WebSocket !== 'function') {
  console.error('ui_timing: no WebSocket client: run node with --experimental-websocket (Node.js >= 20.10)');
  process.exit(2);
}
const chrome = process.env.CHROME || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'odx-ui-timing-'));
const proc = spawn(chrome, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank'],
{ stdio: ['ignore', 'ignore', 'pipe'] });
const cleanup = async () => {
  if (proc.exitCode === null) {
    const gone = new Promise((r) => proc.once('exit', r));
    try { proc.kill('SIGKILL'); } catch { /* gone */ }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch (e) {
    console.error(`ui_timing: could not remove ${profile}: ${e.message}`);
  }
};
const fatal = async (msg) => { console.error(`ui_timing: ${msg}`); await cleanup(); process.exit(1); };
setTimeout(() => fatal('gave up after 300 s'), 300000).unref();

const wsUrl = await new Promise((resolve, reject) => {
  let err = '';
  const t = setTimeout(() => reject(new Error(`no DevTools endpoint from ${chrome} in 30 s: ${err.slice(-500)}`)), 30000);
  proc.stderr.on('data', (d) => {
    err += d;
    const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) { clearTimeout(t); resolve(m[1]); }
  });
  proc.on('exit', (code) => reject(new Error(`${chrome} exited (${code}): ${err.slice(-500)}`)));
}).catch((e) => fatal(e.message));

const ws = new WebSocket(wsUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('DevTools socket failed')); })
  .catch((e) => fatal(e.message));
let nextId = 1;
const pending = new Map();
const listeners = [];
ws.onmessage = (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) {
    const { resolve, reject } = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) reject(new Error(`${m.error.message}`)); else resolve(m.result);
  } else if (m.method) {
    for (const f of listeners) f(m);
  }
};
const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve, reject });
  ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
let bytes = 0, requests = 0, inflight = 0, lastNet = 0;
listeners.push((m) => {
  if (m.sessionId !== sessionId) return;
  if (m.method === 'Network.requestWillBeSent') { requests++; inflight++; lastNet = Date.now(); }
  if (m.method === 'Network.loadingFinished') { bytes += m.params.encodedDataLength; inflight--; lastNet = Date.now(); }
  if (m.method === 'Network.loadingFailed') { inflight--; lastNet = Date.now(); }
});
await send('Network.enable', {}, sessionId);
await send('Page.enable', {}, sessionId);
await send('Runtime.enable', {}, sessionId);
await send('Page.addScriptToEvaluateOnNewDocument', {
  source: `(() => {
    const t = (window.__odx_t = {});
    const mark = (k) => { if (!(k in t)) t[k] = performance.now(); };
    const look = () => {
      const g = document.getElementById('grid');
      const cards = g ? g.querySelectorAll('a.card') : [];
      if (!cards.length) return;
      mark('cards');
      t.n = cards.length;
      for (const i of g.querySelectorAll('img')) {
        if (i.__odx) continue;
        i.__odx = 1;
        const f = () => { if (i.complete && i.naturalWidth > 0) mark('thumb'); };
        i.addEventListener('load', f); // its src may come after it is in the grid
        f();
      }
    };
    new MutationObserver(look).observe(document, { subtree: true, childList: true });
  })();`,
}, sessionId);

const evaluate = async (expr) => (await send('Runtime.evaluate', { expression: expr, returnByValue: true }, sessionId)).result.value;
const runs = [];
for (let i = 0; i < queries.length * 2; i++) {
  const q = queries[i % queries.length];
  bytes = 0; requests = 0; inflight = 0;
  await send('Page.navigate', { url: `${base}/?q=${encodeURIComponent(q)}` }, sessionId);
  let t = null;
  const start = Date.now();
  process.stderr.write(`ui_timing: ${q}\n`);
  while (Date.now() - start < 30000) {
    await sleep(20);
    t = await evaluate('window.__odx_t && window.__odx_t.cards !== undefined ? window.__odx_t : null').catch(() => null);
    if (t) break;
  }
  // then the thumbnails: the network quiet for 500 ms (at most 10 s more;
  // a request the browser drops may never report its end)
  const settle = Date.now();
  while (Date.now() - settle < 10000 && (inflight > 0 || Date.now() - lastNet < 500)) await sleep(20);
  t = await evaluate('window.__odx_t || null').catch(() => null) || t;
  const nav = await evaluate('(() => { const e = performance.getEntriesByType("navigation")[0]; return e ? { html_bytes: e.transferSize, dom_content_loaded_ms: e.domContentLoadedEventEnd } : null; })()').catch(() => null);
  runs.push({
    query: q, cache: i === 0 ? 'cold' : 'warm', results: t ? t.n : 0,
    first_results_ms: t && t.cards !== undefined ? +t.cards.toFixed(1) : null,
    first_thumb_ms: t && t.thumb !== undefined ? +t.thumb.toFixed(1) : null,
    transferred_bytes: bytes, requests, ...(nav || {}),
  });
}
const warm = runs.filter((r) => r.cache === 'warm' && r.first_results_ms !== null).map((r) => r.first_results_ms).sort((a, b) => a - b);
const median = warm.length ? warm[Math.floor(warm.length / 2)] : null;
console.log(JSON.stringify({ bench: 'ui_timing', base, chrome, runs, warm_first_results_ms_median: median }, null, 1));
ws.close();
await cleanup();
process.exit(runs.some((r) => r.first_results_ms === null) ? 1 : 0);
