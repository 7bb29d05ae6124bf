import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allFinite, countNonFinite, describeNonFinite, finiteRange, nonFiniteOutputs } from './finiteness';

describe('non-finite counts', () => {
  it('counts NaN and ±Infinity apart, finite values not at all (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double()), (xs) => {
        const c = countNonFinite(Float64Array.from(xs));
        expect(c.nan).toBe(xs.filter(Number.isNaN).length);
        expect(c.infinite).toBe(xs.filter((x) => x === Infinity || x === -Infinity).length);
        expect(allFinite(xs)).toBe(c.nan + c.infinite === 0);
        const [lo, hi] = finiteRange(xs);
        const finite = xs.filter(Number.isFinite);
        expect([lo, hi]).toEqual(finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 0]);
      }),
      { numRuns: 300, seed: 5 },
    );
  });
  it('reports each output with any, in words', () => {
    const data = new Float32Array(179_200);
    data.fill(Number.NaN, 0, 1024);
    data.fill(Infinity, 5000, 5002);
    data[6000] = -Infinity;
    const report = nonFiniteOutputs({ seg_logits: { data }, fine: { data: new Float32Array(4) } });
    expect(report).toEqual([{ output: 'seg_logits', total: 179_200, nan: 1024, infinite: 3 }]);
    expect(describeNonFinite('X', report[0])).toBe(
      'seg_logits of model X has 1,024 NaN values and 3 infinite ones (of 179,200)',
    );
    expect(describeNonFinite('X', { output: 'g', total: 32, nan: 1, infinite: 0 })).toBe(
      'g of model X has 1 NaN value (of 32)',
    );
    expect(describeNonFinite('X', { output: 'g', total: 32, nan: 0, infinite: 1 })).toBe(
      'g of model X has 1 infinite value (of 32)',
    );
  });
});
