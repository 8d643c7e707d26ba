#!/usr/bin/env node
// http_load.mjs - the HTTP server's latency under concurrent clients
// (issue 15): C clients, each on its own keep-alive connection, send
// GET /search?q=QUERY&k=10 one after another (queries taken in turn from
// the list) for a fixed number of requests; per-request wall time from
// send to the last byte of the body, p50/p99/max, requests per second and
// any non-200 answers. Before the timed run every query is sent once
// (warm-up). Not a test: prints JSON.
//
// usage: node bench/http_load.mjs BASE_URL [CLIENTS [REQUESTS [QUERY...]]]
//   BASE_URL  a running `omnidex serve` (for example http://127.0.0.1:8080)
//   CLIENTS   concurrent clients (default 20)
//   REQUESTS  requests in all (default 1000)
// Needs Node.js 18 or later (fetch, and undici's per-origin keep-alive).
import http from 'node:http';

const base = (process.argv[2] || '').replace(/\/$/, '');
const clients = Number(process.argv[3] || 20);
const total = Number(process.argv[4] || 1000);
const queries = process.argv.length > 5 ? process.argv.slice(5) : [
  'pie chart visitors', 'table of rainfall by product', '黑色船', 'red car',
  'car in the garage', 'concert poster Paris', '微信截图', '销售柱状图',
  'line chart sales', 'blue boat', 'dog in the park', 'table of sales by region',
];
if (!/^http:\/\//.test(base) || !(clients > 0) || !(total > 0)) {
  console.error('usage: node bench/http_load.mjs http://HOST:PORT [CLIENTS [REQUESTS [QUERY...]]]');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const now = () => Number(process.hrtime.bigint()) / 1e6;

function get(q) {
  const url = `${base}/search?q=${encodeURIComponent(q)}&k=10`;
  return new Promise((resolve) => {
    const t0 = now();
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => resolve({ ms: now() - t0, status: res.statusCode, bytes }));
    });
    req.on('error', (e) => resolve({ ms: now() - t0, status: 0, bytes: 0, error: e.message }));
  });
}

const pct = (v, p) => v[Math.min(v.length - 1, Math.round(p * (v.length - 1)))];

for (const q of queries) {
  const r = await get(q);
  if (r.status !== 200) {
    console.error(`http_load: warm-up '${q}' answered ${r.status} ${r.error || ''}`);
    process.exit(1);
  }
}
let next = 0;
const ms = [];
const bad = {};
let bytes = 0;
const t0 = now();
async function client() {
  for (;;) {
    const i = next++;
    if (i >= total)
      return;
    const r = await get(queries[i % queries.length]);
    ms.push(r.ms);
    bytes += r.bytes;
    if (r.status !== 200)
      bad[r.status] = (bad[r.status] || 0) + 1;
  }
}
await Promise.all(Array.from({ length: clients }, client));
const wall = (now() - t0) / 1e3;
ms.sort((a, b) => a - b);
console.log(JSON.stringify({
  bench: 'http_load', base, clients, requests: total, queries: queries.length,
  requests_per_s: +(total / wall).toFixed(1),
  p50_ms: +pct(ms, 0.5).toFixed(2), p99_ms: +pct(ms, 0.99).toFixed(2),
  max_ms: +ms[ms.length - 1].toFixed(2), mean_bytes: Math.round(bytes / total),
  non_200: bad,
}, null, 1));
agent.destroy();
