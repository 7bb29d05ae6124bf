// Median onnxruntime-node latency (ms) of each ONNX file given, on zeros at its declared input shape.
// Prints one JSON line {file name: ms}. Called by the Python pipeline when it writes the model cards.
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';

const RUNS = 30;
const result = {};
for (const file of process.argv.slice(2)) {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const meta = session.inputMetadata[0];
  const shape = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)), shape),
  };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  result[basename(file)] = Math.round(times[RUNS >> 1] * 100) / 100;
  await session.release();
}
console.log(JSON.stringify(result));
