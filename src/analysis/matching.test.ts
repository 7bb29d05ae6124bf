import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEIGHTS, giou, linearAssignment, matchingCost, matchRepeated } from './matching';

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
