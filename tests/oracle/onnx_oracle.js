#!/usr/bin/env node
// onnx_oracle.js - reference outputs for the ONNX front-end's tests, from
// onnxruntime (npm onnxruntime-node, fetched by scripts/fetch_oracle.sh; a
// test tool, never part of omnidex). Runs one model on one float32 input and
// writes the first output as raw little-endian float32, its shape to stdout,
// and the median forward time (wall, and process CPU time, which a loaded
// machine disturbs less) of RUNS runs (one thread) to stderr.
// Usage: onnx_oracle.js ORACLE_DIR MODEL.onnx IN.f32 D0,D1,... OUT.f32 [RUNS]
'use strict';
const fs = require('fs');
const path = require('path');
const [dir, model, inFile, dims, outFile, runsArg] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: onnx_oracle.js ORACLE_DIR MODEL.onnx IN.f32 D0,D1,... OUT.f32 [RUNS]');
  process.exit(2);
}
let ort;
try {
  ort = require(path.resolve(dir, 'node_modules', 'onnxruntime-node'));
} catch (e) {
  console.error(`onnx_oracle: onnxruntime-node not found under ${dir} ` +
                `(run scripts/fetch_oracle.sh): ${e.message}`);
  process.exit(3);
}
(async () => {
  const shape = dims.split(',').map(Number);
  const buf = fs.readFileSync(inFile);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) {
    console.error('onnx_oracle: input size disagrees with the shape');
    process.exit(2);
  }
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all'});
  const feeds = {[sess.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  const runs = Math.max(1, Number(runsArg || 1));
  const times = [], cpus = [];
  let res;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    res = await sess.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e3);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const out = res[sess.outputNames[0]];
  fs.writeFileSync(outFile, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(out.dims.join(','));
  console.error(`onnx_oracle: ${path.basename(model)} median ${times[times.length >> 1].toFixed(2)} ms over ${runs} runs, cpu ${cpus[cpus.length >> 1].toFixed(2)} ms`);
})().catch((e) => { console.error('onnx_oracle: ' + e.message); process.exit(1); });
