/**
 * Class maps reduced in the worker (workerMath.classMapsOf, the CPU path; the GPU path is checked against WASM in
 * tests/e2e/graph-capture): per image of a batch, each pixel's class and the logits' non-finite counts, against
 * a brute-force reference; and a run that carries a class map instead of its logits serves the page the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type * as ort from 'onnxruntime-web/webgpu';
import { describe, expect, it } from 'vitest';
import { NO_CLASS } from '../analysis/segmentation';
import { lacking } from '../app/readback';
import { interpret } from '../app/task';
import { type Contract, loadContract } from '../contract';
import { answeredClass } from '../methods/saliency/targets';
import type { Run } from '../state/runs';
import { classMapsOf } from './workerMath';

const cpuTensor = (data: Float32Array, dims: number[]) =>
  ({ location: 'cpu', type: 'float32', data, dims, dispose: () => undefined }) as unknown as ort.Tensor;
const noDevice = () => Promise.resolve(undefined);

/** The class of pixel p of image i, by reading every logit (first of equal maxima; NO_CLASS if any is NaN). */
function reference(data: Float32Array, [, k, h, w]: number[], i: number, p: number): number {
  const at = (c: number) => data[i * k * h * w + c * h * w + p];
  let best = 0;
  for (let c = 0; c < k; c++) {
    if (Number.isNaN(at(c))) return NO_CLASS;
    if (at(c) > at(best)) best = c;
  }
  return best;
}

describe('classMapsOf (CPU)', () => {
  it('each image of a batch: its own class map and NaN / infinite counts, as reading every logit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ n: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 6 }) }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        async ({ n, k }, h, w, seed) => {
          const dims = [n, k, h, w];
          const data = new Float32Array(n * k * h * w);
          let s = seed >>> 0;
          for (let j = 0; j < data.length; j++) {
            s = (s * 1103515245 + 12345) >>> 0;
            const r = s % 100;
            // small integers (ties happen), with a few NaN and ±Infinity
            data[j] = r < 3 ? Number.NaN : r < 5 ? Number.POSITIVE_INFINITY : r < 6 ? Number.NEGATIVE_INFINITY : r % 4;
          }
          const { maps, engine } = await classMapsOf(cpuTensor(data, dims), noDevice);
          expect(engine).toBe('cpu');
          expect(maps).toHaveLength(n);
          for (let i = 0; i < n; i++) {
            expect(maps[i].dims).toEqual([1, h, w]);
            expect(maps[i].total).toBe(k * h * w);
            for (let p = 0; p < h * w; p++) expect(maps[i].data[p]).toBe(reference(data, dims, i, p));
            const own = data.subarray(i * k * h * w, (i + 1) * k * h * w);
            expect(maps[i].nan).toBe(own.filter((v) => Number.isNaN(v)).length);
            expect(maps[i].infinite).toBe(own.filter((v) => Math.abs(v) === Number.POSITIVE_INFINITY).length);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses more classes than a class map can hold', async () => {
    await expect(classMapsOf(cpuTensor(new Float32Array(255), [1, 255, 1, 1]), noDevice)).rejects.toThrow(
      /255 classes/,
    );
  });
});

describe('a run with a class map instead of its logits', () => {
  const contract = (
    loadContract(new Uint8Array(readFileSync(join(__dirname, '../../public/models/seg-student-plain.onnx')))) as {
      contract: Contract;
    }
  ).contract;
  const logitsName = contract.outputs.find((o) => o.role === 'segmentation_logits')!.name;
  const [k, h, w] = [7, 4, 5];
  const data = Float32Array.from({ length: k * h * w }, (_, j) => ((j * 7919) % 13) - (j % 3 ? 0 : 20));
  const placement = { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, inputWidth: w, inputHeight: h };
  const base = { modelId: 'm', imageId: 'i', milliseconds: 1, width: w, height: h, placement, bytes: 0 } as const;
  const withLogits: Run = { ...base, outputs: { [logitsName]: { data, dims: [1, k, h, w] } } };

  it('gives the same mask, answered class and nothing lacking as the run with the logits', async () => {
    const { maps } = await classMapsOf(cpuTensor(data, [1, k, h, w]), noDevice);
    const withMap: Run = { ...base, outputs: {}, classMaps: { [logitsName]: maps[0] } };
    const a = interpret(contract, withLogits, null);
    const b = interpret(contract, withMap, null);
    expect(b).toEqual(a);
    expect(a.kind).toBe('segmentation');
    expect(answeredClass(contract, withMap)).toBe(answeredClass(contract, withLogits));
    expect(answeredClass(contract, withLogits)).not.toBeNull();
    const models = [{ id: 'm', contract }];
    expect(lacking(withMap, contract, models)).toEqual(lacking(withLogits, contract, models));
    expect(lacking({ outputs: {} }, contract, models)).toContain(logitsName);
  });
});
