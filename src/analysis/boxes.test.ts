import { describe, expect, it } from 'vitest';
import { boxAgreement, type Detection, decodeQueries, iou } from './boxes';

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
