// The batch section of `npm run bench` (BENCH_ONLY=batches): per zoo model, images per second when N images go
// in one run (N = 1, 4, 8; the zoo's batch axis is open, ml/attnlens_ml/batch_axis.py), for onnxruntime-node and
// onnxruntime-web's WASM under Node, both at 1 thread (the count the app picks on 2 cores). Medians of `runs`.
// A data set in the app (Evaluate) feeds 4 images a run (src/evaluate/runner.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BATCH_SIZES = [1, 4, 8];

async function imagesPerSecond(session, Tensor, n, runs) {
  const shape = session.inputMetadata[0].shape.map((d, i) => (i === 0 ? n : typeof d === 'number' ? d : 1));
  const size = shape.reduce((a, b) => a * b);
  const feeds = { [session.inputNames[0]]: new Tensor('float32', new Float32Array(size).fill(0.1), shape) };
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  const median = [...t].sort((a, b) => a - b)[t.length >> 1];
  return Number(((1000 * n) / median).toFixed(1));
}

/** { id, node: {N: images/s}, wasm_node: {N: images/s} } per model; prints one row each. */
export async function benchBatches({ root, models, ortNode, ortWeb, runs }) {
  console.log(`\nbatches: images/s at N images a run, 1 thread (medians of ${runs} runs)`);
  console.log(
    `${'model'.padEnd(30)} ${BATCH_SIZES.map((n) => `node N=${n}`.padStart(10)).join(' ')}  ${BATCH_SIZES.map((n) => `wasm N=${n}`.padStart(10)).join(' ')}`,
  );
  const out = [];
  for (const m of models) {
    const bytes = readFileSync(join(root, 'public', m.file));
    const node = {};
    const wasm = {};
    for (const n of BATCH_SIZES) {
      const s = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      node[n] = await imagesPerSecond(s, ortNode.Tensor, n, runs);
      await s.release();
      const w = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      wasm[n] = await imagesPerSecond(w, ortWeb.Tensor, n, Math.max(3, Math.round(runs / n)));
      await w.release();
    }
    out.push({ id: m.id, node_images_per_s: node, wasm_node_images_per_s: wasm });
    console.log(
      `${m.id.padEnd(30)} ${BATCH_SIZES.map((n) => String(node[n]).padStart(10)).join(' ')}  ${BATCH_SIZES.map((n) => String(wasm[n]).padStart(10)).join(' ')}`,
    );
  }
  return out;
}
