import { describe, expect, it } from 'vitest';
import { attnfdDistance, energyMap, range, topChannels } from './attention';

describe('attnfdDistance', () => {
  it('is 0 for maps equal up to scale, 2 for orthogonal, 4 for opposite', () => {
    const a = new Float32Array([1, 2, 3]);
    expect(attnfdDistance(a, new Float32Array([2, 4, 6])).distance).toBeCloseTo(0);
    expect(attnfdDistance(new Float32Array([1, 0]), new Float32Array([0, 1])).distance).toBeCloseTo(2);
    expect(attnfdDistance(a, new Float32Array([-1, -2, -3])).distance).toBeCloseTo(4);
  });
  it('refuses maps of different widths', () => {
    expect(() => attnfdDistance(new Float32Array(4), new Float32Array(6))).toThrow(/equal width/);
  });
});

describe('energyMap / topChannels / range', () => {
  it('averages squares over channels per location', () => {
    expect(Array.from(energyMap(new Float32Array([1, 2, 3, 4]), 2))).toEqual([5, 10]);
  });
  it('sorts channels by gate value', () => {
    expect(topChannels(new Float32Array([0.1, 0.9, 0.5]), 2)).toEqual([{ channel: 1, value: 0.9 }, { channel: 2, value: 0.5 }].map((c) => ({ ...c, value: Math.fround(c.value) })));
  });
  it('finds the value range', () => {
    expect(range(new Float32Array([3, -1, 2]))).toEqual([-1, 3]);
  });
});
