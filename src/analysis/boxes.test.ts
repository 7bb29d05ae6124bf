import { describe, expect, it } from 'vitest';
import {
  boxAgreement,
  boxConfusion,
  boxCorners,
  type Detection,
  decodeQueries,
  iou,
  rankQueryLabels,
  toCxcywhNormalized,
} from './boxes';

const det = (x0: number, y0: number, x1: number, y1: number, classId = 1, score = 0.9): Detection => ({
  x0,
  y0,
  x1,
  y1,
  classId,
  score,
  query: 0,
});

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint, exact for half overlap', () => {
    expect(iou(det(0, 0, 2, 2), det(0, 0, 2, 2))).toBe(1);
    expect(iou(det(0, 0, 1, 1), det(2, 2, 3, 3))).toBe(0);
    expect(iou(det(0, 0, 2, 2), det(1, 0, 3, 2))).toBeCloseTo(1 / 3);
  });
});

describe('decodeQueries', () => {
  it('keeps queries above threshold with their best class, in pixels, sorted by score', () => {
    const logits = new Float32Array([-5, 2, /* q1 */ 3, -1, /* q2 */ -4, -4]);
    const boxes = new Float32Array([0.5, 0.5, 0.2, 0.1, 0.25, 0.25, 0.5, 0.5, 0, 0, 0, 0]);
    const d = decodeQueries(logits, boxes, 3, [4, 6], 100, 200, 0.5);
    expect(d.map((x) => [x.query, x.classId])).toEqual([
      [1, 4],
      [0, 6],
    ]);
    const { x0, x1, y0, y1 } = d[1];
    [x0, x1, y0, y1].forEach((v, i) => {
      // float32 inputs
      expect(v).toBeCloseTo([40, 60, 90, 110][i], 4);
    });
  });
});

describe('decodeQueries: the contract fields activation and box_format', () => {
  const labels = [4, 6];
  // 3 columns per query: label 4, label 6, no-object
  const logits = new Float32Array([2, 0, 0, /* q1 */ 0, 0, 3, /* q2 */ 0, Math.log(3), 0]);
  const boxes = new Float32Array([0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1, 0.5, 0.5, 0.75, 1]);
  it('softmax scores over every column, the no-object one included, which never wins', () => {
    const all = decodeQueries(logits, boxes, 3, labels, 100, 200, 0, { activation: 'softmax', columns: 3 });
    const byQuery = Object.fromEntries(all.map((d) => [d.query, d]));
    expect(byQuery[0].classId).toBe(4);
    expect(byQuery[0].score).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 2), 6); // 0.786986
    expect(byQuery[1].classId).toBe(4); // the labels tie: the first; "no object" (logit 3) is not a label
    expect(byQuery[1].score).toBeCloseTo(1 / (2 + Math.exp(3)), 6); // 0.045278
    expect(byQuery[2].classId).toBe(6);
    expect(byQuery[2].score).toBeCloseTo(3 / 5, 6);
    const kept = decodeQueries(logits, boxes, 3, labels, 100, 200, 0.5, { activation: 'softmax', columns: 3 });
    expect(kept.map((d) => d.query)).toEqual([0, 2]);
  });
  it('softmax without a no-object column normalises over the labels alone; sigmoid reads each logit', () => {
    const two = new Float32Array([2, 0]);
    const box = new Float32Array([0.5, 0.5, 0.1, 0.1]);
    expect(decodeQueries(two, box, 1, labels, 1, 1, 0, { activation: 'softmax' })[0].score).toBeCloseTo(
      Math.exp(2) / (Math.exp(2) + 1),
      6,
    ); // 0.880797
    expect(decodeQueries(two, box, 1, labels, 1, 1, 0)[0].score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });
  it('reads the three box formats into the same pixel corners', () => {
    // a 100×200 input: x0 10, y0 40, x1 50, y1 120
    const want = { x0: 10, y0: 40, x1: 50, y1: 120 };
    const close = (b: { x0: number; y0: number; x1: number; y1: number }) => {
      for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(b[k]).toBeCloseTo(want[k], 4);
    };
    close(boxCorners([0.3, 0.4, 0.4, 0.4], 'cxcywh_normalized', 100, 200));
    close(boxCorners([0.1, 0.2, 0.5, 0.6], 'xyxy_normalized', 100, 200));
    close(boxCorners([10, 40, 50, 120], 'xyxy_pixels', 100, 200));
    const [d] = decodeQueries(logits.subarray(0, 3), boxes, 1, labels, 100, 200, 0, {
      activation: 'softmax',
      columns: 3,
      boxFormat: 'xyxy_normalized',
    });
    close(d);
    const [p] = decodeQueries(new Float32Array([5, 0]), new Float32Array([10, 40, 50, 120]), 1, labels, 100, 200, 0, {
      boxFormat: 'xyxy_pixels',
    });
    close(p);
  });
  it('turns any format into normalised (cx, cy, w, h) for the matching cost', () => {
    const c = toCxcywhNormalized(new Float32Array([10, 40, 50, 120]), 'xyxy_pixels', 100, 200);
    [0.3, 0.4, 0.4, 0.4].forEach((v, i) => {
      expect(c[i]).toBeCloseTo(v, 6);
    });
    const same = new Float32Array([0.3, 0.4, 0.4, 0.4]);
    expect(toCxcywhNormalized(same, 'cxcywh_normalized', 100, 200)).toBe(same);
  });
});

describe('boxAgreement', () => {
  it('matches same-class boxes at IoU 0.5 one to one', () => {
    const ref = [det(0, 0, 10, 10), det(20, 20, 30, 30)];
    const other = [det(1, 0, 11, 10), det(0, 0, 10, 10, 1, 0.5), det(20, 20, 30, 30, 2)];
    const r = boxAgreement(ref, other);
    expect(r.matched).toBe(1);
    expect(r.precision).toBeCloseTo(1 / 3);
    expect(r.recall).toBe(0.5);
    expect(r.f1).toBeCloseTo(0.4);
  });
  it('two empty sets agree fully', () => {
    expect(boxAgreement([], []).f1).toBe(1);
  });
});

describe('boxConfusion', () => {
  it('matches whatever the class, best score first; unmatched boxes pair with null', () => {
    const gt = [det(0, 0, 10, 10, 1), det(20, 20, 30, 30, 2), det(40, 40, 50, 50, 3)];
    const found = [det(0, 0, 10, 12, 1, 0.9), det(20, 20, 30, 30, 1, 0.8), det(70, 70, 80, 80, 2, 0.7)];
    const cells = (pairs: ReturnType<typeof boxConfusion>) => pairs.map((p) => [p.reference, p.model, p.count]);
    expect(cells(boxConfusion(gt, found))).toEqual([
      [1, 1, 1],
      [2, 1, 1],
      [null, 2, 1],
      [3, null, 1],
    ]);
    // the higher-scored box of another class takes the object; the right-class box after it is extra
    expect(cells(boxConfusion([det(0, 0, 10, 10, 1)], [det(0, 0, 10, 10, 1, 0.5), det(0, 0, 10, 10, 2, 0.9)]))).toEqual(
      [
        [1, 2, 1],
        [null, 1, 1],
      ],
    );
    expect(boxConfusion([], [])).toEqual([]);
  });
});

describe('rankQueryLabels', () => {
  it('scores every (query, label) pair, best first, keeps the top, skips non-numbers after ranking', () => {
    // 3 queries × 2 labels, sigmoid; query 2's box is NaN
    const logits = new Float32Array([0, 2, /* q1 */ 3, -1, /* q2 */ 5, 1]);
    const boxes = new Float32Array([0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0.4, 0.4, Number.NaN, 0.5, 0.1, 0.1]);
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const all = rankQueryLabels(logits, boxes, 3, [7, 9], 100, 100, 6);
    // q2's pairs rank first and fourth but have no box: left out
    expect(all.map((d) => [d.query, d.classId, d.score])).toEqual([
      [1, 7, sig(3)],
      [0, 9, sig(2)],
      [0, 7, sig(0)],
      [1, 9, sig(-1)],
    ]);
    // the top 3 are taken before the box-less pairs are left out
    expect(rankQueryLabels(logits, boxes, 3, [7, 9], 100, 100, 3).map((d) => d.query)).toEqual([1, 0]);
    // softmax over the columns, the no-object column included
    const soft = rankQueryLabels(
      new Float32Array([1, 0, 2]),
      new Float32Array([0.5, 0.5, 1, 1]),
      1,
      [4, 5],
      10,
      10,
      5,
      {
        activation: 'softmax',
        columns: 3,
      },
    );
    const z = Math.exp(1) + Math.exp(0) + Math.exp(2);
    const expected = [Math.exp(1) / z, Math.exp(0) / z];
    for (const [i, d] of soft.entries()) expect(d.score).toBeCloseTo(expected[i], 14);
    expect(soft[0]).toMatchObject({ x0: 0, y0: 0, x1: 10, y1: 10, classId: 4 });
  });
});
