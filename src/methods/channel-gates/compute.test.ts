import { describe, expect, it } from 'vitest';
import { summariseGate } from './compute';

describe('summariseGate', () => {
  it('shares per tenth, mean, closed and open, by hand', () => {
    const s = summariseGate([0, 0.05, 0.5, 0.95, 1, Number.NaN]);
    expect(s.channels).toBe(6);
    expect(s.notNumbers).toBe(1);
    // 0 and 0.05 in the first tenth, 0.5 in the sixth, 0.95 and 1 (clamped) in the last
    expect(s.histogram).toEqual([0.4, 0, 0, 0, 0, 0.2, 0, 0, 0, 0.4]);
    expect(s.mean).toBeCloseTo((0 + 0.05 + 0.5 + 0.95 + 1) / 5, 12);
    expect(s.closed).toBe(0.4);
    expect(s.open).toBe(0.4);
  });
  it('nothing to summarise is not a number, not zero', () => {
    expect(summariseGate([Number.NaN]).mean).toBeNaN();
  });
});
