import { describe, expect, it } from 'vitest';
import type { Detection } from './boxes';
import {
  cellCentre,
  describeMatch,
  detectionAt,
  foregroundShares,
  gridCellAt,
  matchQuery,
  meanRow,
  peak,
  queryRow,
  tokenRows,
  upsampleBilinear,
} from './queries';

const det = (query: number, x0: number, y0: number, x1: number, y1: number, score = 0.9, classId = 1): Detection => ({
  query,
  x0,
  y0,
  x1,
  y1,
  score,
  classId,
});

describe('detectionAt', () => {
  const big = det(0, 0, 0, 100, 100, 0.9);
  const small = det(1, 40, 40, 60, 60, 0.6);
  it('picks the smallest box containing the point, so a box inside another stays clickable', () => {
    expect(detectionAt([big, small], 50, 50)?.query).toBe(1);
    expect(detectionAt([small, big], 10, 10)?.query).toBe(0);
  });
  it('breaks equal areas by score, and misses outside every box', () => {
    const twin = det(2, 40, 40, 60, 60, 0.8);
    expect(detectionAt([small, twin], 50, 50)?.query).toBe(2);
    expect(detectionAt([big, small], 101, 50)).toBeNull();
    expect(detectionAt([], 1, 1)).toBeNull();
  });
  it('counts the border as inside', () => {
    expect(detectionAt([small], 60, 40)?.query).toBe(1);
  });
});

describe('matchQuery', () => {
  const target = { x0: 10, y0: 10, x1: 30, y1: 30 };
  it('prefers a detection above the threshold on the same object (highest IoU)', () => {
    const qs = [det(0, 10, 10, 30, 30, 0.2), det(1, 11, 10, 31, 30, 0.7), det(2, 12, 10, 32, 30, 0.95)];
    const m = matchQuery(target, qs, 0.5)!;
    expect(m.rule).toBe('detection-iou');
    expect(m.detection.query).toBe(1);
    expect(m.iou).toBeCloseTo((19 * 20) / (2 * 400 - 19 * 20));
  });
  it('falls back to the most overlapping query of any score', () => {
    const qs = [det(0, 20, 20, 40, 40, 0.1), det(1, 25, 25, 45, 45, 0.9)];
    const m = matchQuery(target, qs, 0.5)!;
    expect(m.rule).toBe('query-iou');
    expect(m.detection.query).toBe(0);
    expect(describeMatch(m)).toMatch(/overlapping most \(IoU 0\.14, score 10 %\)/);
  });
  it('falls back to the nearest centre when nothing overlaps, ties to the higher score', () => {
    const qs = [det(0, 100, 100, 110, 110, 0.9), det(1, 40, 40, 50, 50, 0.1), det(2, 40, 40, 50, 50, 0.3)];
    const m = matchQuery(target, qs, 0.5)!;
    expect(m.rule).toBe('nearest-centre');
    expect(m.detection.query).toBe(2);
    expect(matchQuery(target, [], 0.5)).toBeNull();
  });
});

describe('grid cells', () => {
  const stretch = { inputWidth: 160, inputHeight: 160, offsetX: 0, offsetY: 0, scaleX: 0.5, scaleY: 1 }; // 320×160 image
  it('finds the cell under an image point through the placement', () => {
    expect(gridCellAt(0, 0, stretch, [20, 20])).toBe(0);
    expect(gridCellAt(319.9, 159.9, stretch, [20, 20])).toBe(399);
    expect(gridCellAt(100, 75, stretch, [20, 20])).toBe(9 * 20 + 6); // u = 50 → col 6, v = 75 → row 9
    expect(gridCellAt(320, 10, stretch, [20, 20])).toBeNull();
    expect(gridCellAt(-1, 10, stretch, [20, 20])).toBeNull();
  });
  it('is null in letterbox padding, and cellCentre inverts it', () => {
    const box = { inputWidth: 160, inputHeight: 160, offsetX: 0, offsetY: 40, scaleX: 0.5, scaleY: 0.5 }; // 320×160 letterboxed
    expect(gridCellAt(10, -1, box, [20, 20])).toBeNull(); // v = 39.5: inside the input, in the padding above the image
    expect(gridCellAt(10, 160, box, [20, 20])).toBeNull(); // v = 120: padding below
    expect(gridCellAt(10, 0, box, [20, 20])).toBe(5 * 20 + 0); // v = 40 → row 5
    for (const cell of [100, 107, 223, 299]) {
      const [x, y] = cellCentre(cell, box, [20, 20]);
      expect(gridCellAt(x, y, box, [20, 20])).toBe(cell);
    }
  });
});

describe('attention rows and shares', () => {
  it('reads a query row and a token row per head', () => {
    const q = Float32Array.from({ length: 3 * 4 }, (_, i) => i);
    expect([...queryRow(q, 3, 2)]).toEqual([8, 9, 10, 11]);
    expect(() => queryRow(q, 3, 3)).toThrow(/not in 0..2/);
    // [1, H=2, N=3, N=3]
    const a = Float32Array.from({ length: 18 }, (_, i) => i);
    expect(tokenRows(a, 2, 3, 1).map((r) => [...r])).toEqual([
      [3, 4, 5],
      [12, 13, 14],
    ]);
  });
  it('gives the foreground share per head and of the head mean', () => {
    const rows = [Float32Array.from([0.5, 0.5, 0, 0]), Float32Array.from([0.1, 0.1, 0.4, 0.4])];
    const mask = Uint8Array.from([1, 0, 0, 1]);
    const mean = meanRow(rows);
    expect([...mean].map((v) => +v.toFixed(6))).toEqual([0.3, 0.3, 0.2, 0.2]);
    const s = foregroundShares(rows, mean, mask);
    expect(s.perHead[0]).toBeCloseTo(0.5);
    expect(s.perHead[1]).toBeCloseTo(0.5);
    expect(s.mean).toBeCloseTo(0.5);
    expect(
      foregroundShares([Float32Array.from([0.2, 0.8])], Float32Array.from([0.2, 0.8]), Uint8Array.from([0, 1]))
        .perHead[0],
    ).toBeCloseTo(0.8);
  });
  it('finds the peak', () => {
    expect(peak(Float32Array.from([0.1, 0.7, 0.7, 0.2]))).toEqual({ index: 1, value: expect.closeTo(0.7) });
  });
});

describe('upsampleBilinear', () => {
  it('matches PyTorch align_corners=False on a 2×2 → 4×4', () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode='bilinear', align_corners=False)
    const out = upsampleBilinear(Float32Array.from([0, 1, 2, 3]), 2, 2, 4, 4);
    expect([...out]).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });
  it('matches align_corners=True', () => {
    const out = upsampleBilinear(Float32Array.from([0, 3]), 1, 2, 1, 4, true);
    expect([...out]).toEqual([0, 1, 2, 3]);
  });
});
