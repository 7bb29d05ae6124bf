/**
 * float16 models: half-precision conversion by hand, and the tiny float16 / softmax / xyxy-pixels detector
 * (tests/fixtures/tiny-detector-fp16.onnx, made by ml/scripts/make_tiny_detector.py) run natively the way the
 * worker runs it — input fed as float16 bits, outputs widened — then decoded as its contract says.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { placement } from '../analysis/geometry';
import { type Contract, checkAgainstGraph, loadContract } from '../contract';
import { blockQueries, queryBlock, recommendedThreshold } from '../methods/detr/contract';
import { fromHalfBits, toFloat16, toFloat32, toHalfBits } from './float16';

describe('float16 bits', () => {
  it('converts exact values, rounds half to even, and keeps the special values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // the largest finite half
      [2 ** -14, 0x0400], // the smallest normal
      [2 ** -24, 0x0001], // the smallest subnormal
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
    ];
    for (const [v, bits] of cases) {
      expect(toHalfBits(v)).toBe(bits);
      expect(Object.is(fromHalfBits(bits), v)).toBe(true);
    }
    expect(toHalfBits(1 / 3)).toBe(0x3555); // 0.33325195…
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // a tie between 1 and 1 + 2^-10: to even (1)
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie between 1 + 2^-10 and 1 + 2^-9: to even
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds past the largest finite half: infinity
    expect(toHalfBits(2 ** -26)).toBe(0); // below half the smallest subnormal
    expect(toHalfBits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(fromHalfBits(0x7e00))).toBe(true);
    expect(fromHalfBits(0x3555)).toBeCloseTo(1 / 3, 3);
  });
  it('widens float16 tensor data (bits or a Float16Array-like) and leaves float32 alone', () => {
    const f32 = Float32Array.from([1, 2]);
    expect(toFloat32(f32, 'float32')).toBe(f32);
    expect([...toFloat32(toFloat16(Float32Array.from([1, -2, 0.5])), 'float16')]).toEqual([1, -2, 0.5]);
    expect([...toFloat32([0.25, 4], 'float16')]).toEqual([0.25, 4]);
    expect(() => toFloat32(new BigInt64Array(1), 'int64')).toThrow(/float32 or float16 outputs, got int64/);
  });
});

describe('the tiny float16 detector (softmax with a no-object column, xyxy pixel boxes)', () => {
  const bytes = new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures/tiny-detector-fp16.onnx')));
  const loaded = loadContract(bytes);
  if (!loaded.ok) throw new Error(loaded.problem);
  const contract = loaded.contract;
  const run = async (value: number) => {
    const session = await ort.InferenceSession.create(bytes);
    const graph = {
      inputs: session.inputMetadata.map((m) => ({
        name: m.name,
        shape: m.isTensor ? [...m.shape] : null,
        type: m.isTensor ? m.type : null,
      })),
      outputs: session.outputMetadata.map((m) => ({
        name: m.name,
        shape: m.isTensor ? [...m.shape] : null,
        type: m.isTensor ? m.type : null,
      })),
    };
    const input = toFloat16(new Float32Array(3 * 32 * 32).fill(value));
    const out = await session.run({ image: new ort.Tensor('float16', input, [1, 3, 32, 32]) });
    const outputs = Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, { data: toFloat32(t.data, t.type), dims: [...t.dims] }]),
    );
    await session.release();
    return { graph, outputs };
  };

  it('has a contract that matches its graph, and refuses a float32 lie about its input', async () => {
    const { graph } = await run(0);
    expect(contract.input.dtype).toBe('float16');
    expect(checkAgainstGraph(contract, graph)).toEqual([]);
    const lie = { ...contract, input: { ...contract.input, dtype: 'float32' } } as Contract;
    expect(checkAgainstGraph(lie, graph).map((e) => e.message)).toEqual([
      "input 'image' is float16 in the graph but float32 in the contract; AttnLens feeds the dtype the contract says (float32 or float16)",
    ]);
  });

  it('decodes to the hand-computed detections, fed float16 (an all-zero input, then an all-one input)', async () => {
    const block = queryBlock(contract, 'one_to_one')!;
    expect(recommendedThreshold(contract)).toBe(0.5);
    const p = placement(64, 32, contract.input); // a 64×32 image stretched to 32×32: x·2, y·1
    const zero = blockQueries(block, { outputs: (await run(0)).outputs, placement: p });
    const q = (ds: typeof zero, i: number) => ds.find((d) => d.query === i)!;
    expect(q(zero, 0)).toMatchObject({ classId: 1, x0: 8, y0: 8, x1: 40, y1: 24 });
    expect(q(zero, 0).score).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 2), 6);
    expect(q(zero, 1).score).toBeCloseTo(1 / (2 + Math.exp(3)), 6);
    expect(q(zero, 2)).toMatchObject({ classId: 2, x0: 32, y0: 16, x1: 60, y1: 28 });
    expect(q(zero, 2).score).toBeCloseTo(Math.E / (Math.E + 2), 3); // logit 1 → e/(e+2), float16 exact
    expect(blockQueries(block, { outputs: (await run(0)).outputs, placement: p }, 0.5).map((d) => d.query)).toEqual([
      0, 2,
    ]);
    // m = 1: query 1's no-object logit is 3 − 4 = −1
    const one = blockQueries(block, { outputs: (await run(1)).outputs, placement: p });
    expect(q(one, 1).score).toBeCloseTo(1 / (2 + Math.exp(-1)), 3);
  });
});
