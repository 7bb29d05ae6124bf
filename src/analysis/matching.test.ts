import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assign,
  assignRepeated,
  DEFAULT_WEIGHTS,
  giou,
  linearAssignment,
  matchingCost,
  matchRepeated,
} from './matching';

function bruteForce(cost: number[], rows: number, cols: number): number {
  // rows <= cols: try every injective map rows → cols
  let best = Infinity;
  const used = new Array(cols).fill(false);
  const go = (i: number, acc: number) => {
    if (i === rows) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < cols; j++)
      if (!used[j]) {
        used[j] = true;
        go(i + 1, acc + cost[i * cols + j]);
        used[j] = false;
      }
  };
  go(0, 0);
  return best;
}
const total = (cost: number[], cols: number, pairs: [number, number][]) =>
  pairs.reduce((s, [i, j]) => s + cost[i * cols + j], 0);

describe('linearAssignment', () => {
  it('is optimal against brute force on small matrices, ties included', () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let t = 0; t < 60; t++) {
      const rows = 1 + Math.floor(rnd() * 4);
      const cols = rows + Math.floor(rnd() * 3);
      const cost = Array.from({ length: rows * cols }, () => Math.floor(rnd() * 4));
      const pairs = linearAssignment(cost, rows, cols);
      expect(pairs).toHaveLength(rows);
      expect(new Set(pairs.map((p) => p[1])).size).toBe(rows);
      expect(total(cost, cols, pairs)).toBe(bruteForce(cost, rows, cols));
    }
  });
  it("reaches scipy's optimum on random rectangular matrices (fixture from scipy)", () => {
    const { cases } = JSON.parse(readFileSync(join(__dirname, '../../tests/fixtures/lsa-scipy.json'), 'utf8'));
    for (const c of cases) {
      const pairs = linearAssignment(c.cost, c.rows, c.cols);
      expect(pairs).toHaveLength(Math.min(c.rows, c.cols));
      expect(total(c.cost, c.cols, pairs)).toBeCloseTo(c.optimum, 6);
    }
  });
});

describe('matching cost and one-to-many', () => {
  it('GIoU is 1 for identical boxes and negative for far ones', () => {
    expect(giou([0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2])).toBeCloseTo(1);
    expect(giou([0.1, 0.1, 0.1, 0.1], [0.9, 0.9, 0.1, 0.1])).toBeLessThan(0);
  });
  it('assigns each object to the query that predicts it, and K queries per object when repeated', () => {
    const logits = new Float32Array([5, -5, -5, 5, 0, 0, 0, 0]); // 4 queries × 2 classes
    const boxes = new Float32Array([0.2, 0.2, 0.1, 0.1, 0.8, 0.8, 0.1, 0.1, 0.21, 0.2, 0.1, 0.1, 0.79, 0.8, 0.1, 0.1]);
    const gtClass = [1, 0];
    const gt: [number, number, number, number][] = [
      [0.8, 0.8, 0.1, 0.1],
      [0.2, 0.2, 0.1, 0.1],
    ];
    const cost = matchingCost(logits, boxes, 4, 2, gtClass, gt, DEFAULT_WEIGHTS);
    expect(linearAssignment(cost, 4, 2)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const many = matchRepeated(cost, 4, 2, 2);
    expect(
      many
        .filter(([, j]) => j === 0)
        .map(([q]) => q)
        .sort(),
    ).toEqual([1, 3]);
    expect(
      many
        .filter(([, j]) => j === 1)
        .map(([q]) => q)
        .sort(),
    ).toEqual([0, 2]);
  });
});

/** Cells of a cost matrix: finite, NaN, ±Infinity, and huge finite values (whose differences overflow). */
const cell = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
  { weight: 1, arbitrary: fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 1e154, 5e-324) },
  { weight: 1, arbitrary: fc.double() }, // anything a double can be, NaN and infinities included
);
const matrix = (maxSide: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: maxSide }), fc.integer({ min: 0, max: maxSide }))
    .chain(([rows, cols]) =>
      fc.array(cell, { minLength: rows * cols, maxLength: rows * cols }).map((cost) => ({ rows, cols, cost })),
    );

/** Smallest number of non-finite cells over all assignments, and the smallest finite total among those. */
function bruteLexicographic(cost: number[], rows: number, cols: number): { bad: number; total: number } {
  const t = rows > cols;
  const [n, m] = t ? [cols, rows] : [rows, cols];
  const at = (i: number, j: number) => (t ? cost[j * cols + i] : cost[i * cols + j]);
  let best = { bad: Infinity, total: Infinity };
  const used = new Array(m).fill(false);
  const go = (i: number, bad: number, total: number) => {
    if (i === n) {
      if (bad < best.bad || (bad === best.bad && total < best.total)) best = { bad, total };
      return;
    }
    for (let j = 0; j < m; j++)
      if (!used[j]) {
        used[j] = true;
        const c = at(i, j);
        if (Number.isFinite(c)) go(i + 1, bad, total + c);
        else go(i + 1, bad + 1, total);
        used[j] = false;
      }
  };
  go(0, 0, 0);
  return best;
}

describe('assign: any numbers, bounded time (properties)', () => {
  it('always ends within a bounded time with a full assignment, whatever the cells (NaN, ±Infinity, huge)', () => {
    fc.assert(
      fc.property(matrix(12), ({ rows, cols, cost }) => {
        const t0 = performance.now();
        const a = assign(cost, rows, cols);
        expect(performance.now() - t0).toBeLessThan(200);
        expect(a.pairs).toHaveLength(Math.min(rows, cols));
        expect(new Set(a.pairs.map((p) => p[0])).size).toBe(a.pairs.length);
        expect(new Set(a.pairs.map((p) => p[1])).size).toBe(a.pairs.length);
        for (const [r, c] of a.pairs) expect(r >= 0 && r < rows && c >= 0 && c < cols).toBe(true);
        const bad = cost.filter((v) => !Number.isFinite(v)).length;
        expect(a.nonFinite).toBe(bad);
        const badRows = [...new Set(cost.flatMap((v, i) => (Number.isFinite(v) ? [] : [Math.floor(i / cols)])))];
        expect(a.penalisedRows).toEqual(badRows.sort((x, y) => x - y));
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('uses as few non-finite cells as any assignment can, then the finite optimum (moderate values)', () => {
    const moderate = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: -50, max: 50 }) },
      { weight: 2, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
    );
    const small = fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }))
      .chain(([rows, cols]) =>
        fc.array(moderate, { minLength: rows * cols, maxLength: rows * cols }).map((cost) => ({ rows, cols, cost })),
      );
    fc.assert(
      fc.property(small, ({ rows, cols, cost }) => {
        const a = assign(cost, rows, cols);
        const want = bruteLexicographic(cost, rows, cols);
        const got = a.pairs.map(([r, c]) => cost[r * cols + c]);
        expect(got.filter((v) => !Number.isFinite(v)).length).toBe(want.bad);
        expect(a.penalisedPairs).toBe(want.bad);
        expect(got.filter(Number.isFinite).reduce((s, v) => s + v, 0)).toBe(want.total);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('reaches the optimum on huge finite values (scaled, not overflowed)', () => {
    const huge = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
      .chain(([rows, cols]) =>
        fc
          .array(fc.integer({ min: -1000, max: 1000 }), { minLength: rows * cols, maxLength: rows * cols })
          .map((base) => ({ rows, cols, base })),
      );
    fc.assert(
      fc.property(huge, ({ rows, cols, base }) => {
        const cost = base.map((v) => v * 1e305); // differences overflow a double; the scaled problem does not
        const a = assign(cost, rows, cols);
        const total = a.pairs.reduce((s, [r, c]) => s + base[r * cols + c], 0);
        expect(total).toBe(bruteLexicographic(base, rows, cols).total);
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it('names a matrix that is not one, in words', () => {
    expect(() => assign([1, 2, 3], 2, 2)).toThrow('the cost matrix has 3 values, 2 × 2 needs 4');
    expect(() => assign([], -1, 2)).toThrow('a cost matrix of -1 × 2 is not a matrix');
  });

  it('the detector with NaN boxes: every cell of a query NaN, the finite queries take the objects', () => {
    // 4 queries × 2 objects; queries 0 and 2 have NaN boxes (their whole rows are NaN).
    const cost = [NaN, NaN, 3, 1, NaN, NaN, 1, 4];
    const a = assign(cost, 4, 2);
    expect(a.pairs).toEqual([
      [1, 1],
      [3, 0],
    ]);
    expect(a.penalisedRows).toEqual([0, 2]);
    expect(a.penalisedPairs).toBe(0);
    // One finite query for two objects: it takes its best object, a NaN query the other (reported).
    const b = assign([NaN, NaN, 5, 2], 2, 2);
    expect(b.pairs).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(b.penalisedPairs).toBe(1);
  });

  it('one-to-many repeats objects K times and carries the non-finite report', () => {
    const r = assignRepeated(new Float64Array([NaN, 1, 2, NaN, 3, 1]), 3, 2, 2);
    expect(r.pairs).toHaveLength(3);
    expect(r.nonFinite).toBe(2);
    expect(r.penalisedRows).toEqual([0, 1]);
  });

  it('a cost matrix with a class column past the logits is refused in words, not read as NaN', () => {
    expect(() =>
      matchingCost(new Float32Array(6), new Float32Array(12), 3, 2, [7], [[0.5, 0.5, 0.1, 0.1]], DEFAULT_WEIGHTS),
    ).toThrow("ground-truth class column 7 is outside the model's 2 logit columns");
  });
});
