import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import type { Contract } from '../../contract';
import { plainInput } from '../../contract/testContracts';
import { blockQueries, queryBlock, recommendedThreshold } from './contract';

const contract = {
  input: plainInput(100, 100, 'letterbox'),
  outputs: [
    {
      name: 'a.logits',
      role: 'box_logits',
      shape: [1, 2, 2],
      block: 'one_to_one',
      labels: [3, 5],
      activation: 'sigmoid',
    },
    { name: 'a.boxes', role: 'boxes', shape: [1, 2, 4], block: 'one_to_one', box_format: 'cxcywh_normalized' },
    { name: 'a.cross', role: 'cross_attention', shape: [1, 2, 4], block: 'one_to_one', grid: [2, 2], stride: 50 },
    { name: 'b.logits', role: 'box_logits', shape: [1, 2, 2], block: 'one_to_many', labels: [3, 5], k: 2 },
    { name: 'b.boxes', role: 'boxes', shape: [1, 2, 4], block: 'one_to_many', box_format: 'xyxy_pixels', k: 2 },
  ],
} as unknown as Contract;

describe('query blocks', () => {
  it("asks the contract for a block's logits, boxes (any box_format) and cross-attention", () => {
    expect(queryBlock(contract, 'one_to_one')).toMatchObject({
      logits: { name: 'a.logits' },
      boxes: { name: 'a.boxes' },
      cross: { name: 'a.cross' },
    });
    expect(queryBlock(contract, 'one_to_many')).toMatchObject({
      logits: { name: 'b.logits' },
      boxes: { name: 'b.boxes' },
    });
    expect(queryBlock({ ...contract, outputs: contract.outputs.slice(3, 4) }, 'one_to_many')).toBeNull(); // no boxes
  });
  it('decodes a softmax block with a no-object column and xyxy pixel boxes, through a letterbox', () => {
    const softmax = {
      ...contract,
      outputs: [{ ...contract.outputs[3], activation: 'softmax', shape: [1, 2, 3] }, { ...contract.outputs[4] }],
    } as unknown as Contract;
    const outputs = {
      // per query: label 3, label 5, no-object
      'b.logits': { data: Float32Array.from([0, 2, 0, 0, 0, 4]), dims: [1, 2, 3] },
      'b.boxes': { data: Float32Array.from([10, 30, 50, 70, 0, 25, 100, 75]), dims: [1, 2, 4] },
    };
    const qs = blockQueries(queryBlock(softmax, 'one_to_many')!, {
      outputs,
      placement: placement(200, 100, contract.input),
    });
    const q0 = qs.find((d) => d.query === 0)!;
    expect(q0.classId).toBe(5);
    expect(q0.score).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 2), 6);
    // input pixels → image pixels: x / 0.5, (y − 25) / 0.5
    [q0.x0, q0.y0, q0.x1, q0.y1].forEach((v, i) => {
      expect(v).toBeCloseTo([20, 10, 100, 90][i], 4);
    });
    const q1 = qs.find((d) => d.query === 1)!;
    expect(q1.score).toBeCloseTo(1 / (2 + Math.exp(4)), 6); // the no-object column takes the mass
    expect(
      blockQueries(
        queryBlock(softmax, 'one_to_many')!,
        { outputs, placement: placement(200, 100, contract.input) },
        0.5,
      ).map((d) => d.query),
    ).toEqual([0]);
  });
  it('decodes every query, whatever its score, into image pixels through a letterbox', () => {
    const outputs = {
      'a.logits': { data: Float32Array.from([-9, -8, 2, -1]), dims: [1, 2, 2] },
      'a.boxes': { data: Float32Array.from([0.5, 0.5, 0.2, 0.2, 0.25, 0.5, 0.1, 0.1]), dims: [1, 2, 4] },
    };
    // a 200×100 image letterboxed into 100×100: scale 0.5, 25 px bands above and below
    const qs = blockQueries(queryBlock(contract, 'one_to_one')!, {
      outputs,
      placement: placement(200, 100, contract.input),
    });
    expect(qs.map((d) => [d.query, d.classId])).toEqual([
      [1, 3],
      [0, 5],
    ]);
    const q0 = qs.find((d) => d.query === 0)!;
    [q0.x0, q0.y0, q0.x1, q0.y1].forEach((v, i) => {
      expect(v).toBeCloseTo([80, 30, 120, 70][i], 4);
    });
    expect(q0.score).toBeCloseTo(1 / (1 + Math.exp(8)));
  });
});

describe('recommended score threshold', () => {
  it('is read from the one-to-one logits (or the model), and absent otherwise', () => {
    expect(recommendedThreshold(contract)).toBeNull();
    const withOne = {
      ...contract,
      outputs: contract.outputs.map((o) => (o.name === 'a.logits' ? { ...o, score_threshold: 0.3 } : o)),
    } as Contract;
    expect(recommendedThreshold(withOne)).toBe(0.3);
    const onModel = { ...contract, model: { score_threshold: 0.45 } } as unknown as Contract;
    expect(recommendedThreshold(onModel)).toBe(0.45);
  });
});
