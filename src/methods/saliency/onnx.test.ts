/**
 * The worker's saliency runner on a real ONNX model whose answer is known (tests/fixtures/quadrant-classifier.onnx,
 * ml/scripts/make_quadrant_classifier.py: a classifier that only reads the top-left quarter of its input),
 * run natively the way the worker runs it in the browser: batched (its batch axis is open), or one at a time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import { type Contract, loadContract } from '../../contract';
import { toTensor } from '../../inference/preprocess';
import { frameOf, positiveMassShare, saliencyPeak } from './compute';
import { runSaliencyJob, type SaliencyJob } from './job';
import type { Tensor } from './scores';

const bytes = new Uint8Array(readFileSync(join(__dirname, '../../../tests/fixtures/quadrant-classifier.onnx')));
let contract: Contract;
let session: ort.InferenceSession;

beforeAll(async () => {
  const loaded = loadContract(bytes);
  if (!loaded.ok) throw new Error(loaded.problem);
  contract = loaded.contract;
  session = await ort.InferenceSession.create(bytes);
});

const SIDE = 64;
/** A white image of the input's size, as the worker's pre-processing makes it (stretch: same size). */
const whiteInput = () => toTensor(new Uint8ClampedArray(SIDE * SIDE * 4).fill(255), contract.input);

async function runNative(stacked: Float32Array, n: number, names: string[]): Promise<Record<string, Tensor>> {
  const out = await session.run({ image: new ort.Tensor('float32', stacked, [n, 3, SIDE, SIDE]) });
  return Object.fromEntries(names.map((k) => [k, { data: out[k].data as Float32Array, dims: [...out[k].dims] }]));
}

const job = (batch: number): SaliencyJob => ({
  spec: { method: { kind: 'rise', rise: { masks: 400, cells: 8, keep: 0.5, seed: 1 } }, fill: 'zero', steps: 8 },
  target: { kind: 'class', output: 'logits', index: 0, activation: 'softmax' },
  batch,
});

describe('saliency of the quadrant ONNX classifier', () => {
  it('declares a class_logits output over [bright, dark] and an open batch axis', () => {
    expect(contract.outputs.map((o) => [o.name, o.role, o.labels])).toEqual([['logits', 'class_logits', [1, 2]]]);
    expect(contract.input.shape).toEqual([1, 3, SIDE, SIDE]);
  });

  it('RISE (batched) puts the saliency in the top-left quarter; deletion AUC < insertion AUC', async () => {
    const seen: number[] = [];
    const p = placement(SIDE, SIDE, contract.input);
    const outcome = await runSaliencyJob({
      job: job(16),
      tensor: { data: whiteInput(), placement: p },
      layout: 'NCHW',
      image: { width: SIDE, height: SIDE },
      run: runNative,
      progress: (done) => seen.push(done),
      stopped: () => false,
    });
    expect(outcome.batched).toBe(true);
    expect(outcome.passes).toBe(2 + 400 + 14);
    expect(seen[seen.length - 1]).toBe(outcome.passes);
    expect(outcome.base).toBeGreaterThan(0.99); // white: P(bright) = sigmoid(8)
    expect(outcome.filled).toBeLessThan(0.01);
    const frame = frameOf(p, SIDE, SIDE);
    const peak = saliencyPeak(outcome.map, frame)!;
    expect(peak.u).toBeLessThan(SIDE / 2);
    expect(peak.v).toBeLessThan(SIDE / 2);
    const grown = new Uint8Array(SIDE * SIDE).map((_, i) => (i % SIDE < 40 && i / SIDE < 40 ? 1 : 0));
    expect(positiveMassShare(outcome.map, grown)).toBeGreaterThan(0.9);
    expect(outcome.curves!.deletionAuc).toBeLessThan(outcome.curves!.insertionAuc);
  });

  it('a model whose outputs do not carry the batch runs one picture at a time, to the same map', async () => {
    const p = placement(SIDE, SIDE, contract.input);
    const common = {
      tensor: { data: whiteInput(), placement: p },
      layout: 'NCHW' as const,
      image: { width: SIDE, height: SIDE },
      progress: () => undefined,
      stopped: () => false,
    };
    const batched = await runSaliencyJob({ ...common, job: job(8), run: runNative });
    // a "fixed batch 1" model: whatever it is fed, its outputs say batch 1
    const fixed = await runSaliencyJob({
      ...common,
      job: job(8),
      run: async (stacked, n, names) => {
        const r = await runNative(stacked, n, names);
        return n > 1 ? { logits: { data: r.logits.data, dims: [1, 2] } } : r;
      },
    });
    expect(fixed.batched).toBe(false);
    let worst = 0;
    for (let i = 0; i < batched.map.length; i++) worst = Math.max(worst, Math.abs(batched.map[i] - fixed.map[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it('stops when asked between batches', async () => {
    let runs = 0;
    const p = placement(SIDE, SIDE, contract.input);
    await expect(
      runSaliencyJob({
        job: job(4),
        tensor: { data: whiteInput(), placement: p },
        layout: 'NCHW',
        image: { width: SIDE, height: SIDE },
        run: async (s, n, names) => {
          runs++;
          return runNative(s, n, names);
        },
        progress: () => undefined,
        stopped: () => runs >= 3,
      }),
    ).rejects.toThrow('saliency-stopped');
    expect(runs).toBe(3);
  });
});
