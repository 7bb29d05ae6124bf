// `npm run bench`: per zoo model, median latency in onnxruntime-node (native, 2 threads) and in
// onnxruntime-web's WASM backend under Node (1 thread), and their ratio. Numbers, not pass/fail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { root, setupNode } from './setup.mjs';

setupNode();
ortWeb.env.wasm.numThreads = 1;
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));

async function median(session, Tensor) {
  const meta = session.inputMetadata[0];
  const shape = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const feeds = { [session.inputNames[0]]: new Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)).fill(0.1), shape) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[RUNS >> 1];
}

console.log(`model                    node ms   wasm(node) ms   ratio   (median of ${RUNS})`);
for (const m of index.models) {
  const bytes = readFileSync(join(root, 'public', m.file));
  const native = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const wasm = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const a = await median(native, ortNode.Tensor);
  const b = await median(wasm, ortWeb.Tensor);
  console.log(`${m.id.padEnd(24)} ${a.toFixed(2).padStart(7)}   ${b.toFixed(2).padStart(13)}   ${(b / a).toFixed(1).padStart(5)}`);
}
