import { describe, expect, it } from 'vitest';
import { plainInput, testContract } from '../contract/testContracts';
import type { Run } from '../state/runs';
import { MeanMaps } from './meanMaps';

const contract = testContract({
  model: { id: 'm', task: 'segmentation', role: 'student', family: 'x' },
  input: plainInput(16, 16, 'stretch'),
  outputs: [
    { name: 'g', role: 'cbam_spatial_gate', shape: [1, 1, 2, 2], site: 's1' },
    { name: 'a', role: 'cls_attention', shape: [1, 2, 2, 4], keys: 'patches', grid: [2, 2], patch: 8 },
  ],
});
const run = (gate: number[], attention: number[]): Run =>
  ({
    outputs: {
      g: { data: Float32Array.from(gate), dims: [1, 1, 2, 2] },
      a: { data: Float32Array.from(attention), dims: [1, 2, 2, 4] },
    },
  }) as unknown as Run;

describe('mean maps over a set', () => {
  it('averages each map image by image; CLS attention: last layer, head mean', () => {
    const maps = new MeanMaps();
    // layer 0 (ignored) then layer 1: head 0 [1,0,0,0], head 1 [0,1,0,0] → head mean [.5,.5,0,0]
    maps.add('m', contract, run([0, 1, 0, 1], [9, 9, 9, 9, 9, 9, 9, 9, 1, 0, 0, 0, 0, 1, 0, 0]));
    maps.add('m', contract, run([1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]));
    maps.add('m', contract, run([NaN, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // gate left out
    const out = maps.maps();
    expect(out.find((m) => m.output === 'g')).toEqual({
      model: 'm',
      output: 'g',
      what: 'spatial gate at s1',
      grid: [2, 2],
      n: 2,
      values: [0.5, 1, 0, 0.5],
    });
    const a = out.find((m) => m.output === 'a')!;
    expect(a.n).toBe(3);
    expect(a.values).toEqual([0.5 / 3, 0.5 / 3, 0.5 / 3, 0.5 / 3].map((v) => Number(v.toPrecision(6))));
  });
});
