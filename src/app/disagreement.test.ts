import { describe, expect, it } from 'vitest';
import { uniformPlacement } from '../analysis/geometry';
import { boxAt } from '../analysis/testBoxes';
import { AGREE, DIFFER, disagreementOf, pixelDisagreement, UNCOMPARED } from './disagreement';

describe('disagreement', () => {
  it('pixels in one frame: differ, agree, not compared (NaN)', () => {
    const a = { classMap: Uint8Array.from([0, 1, 2, 255]), width: 2, height: 2, placement: uniformPlacement(2, 2) };
    const b = { ...a, classMap: Uint8Array.from([0, 2, 2, 1]) };
    const d = pixelDisagreement(a, b, 2, 2);
    expect(d).toMatchObject({ kind: 'pixels', width: 2, height: 2, differ: 1, compared: 3 });
    if (d.kind === 'pixels') expect([...d.map]).toEqual([AGREE, DIFFER, AGREE, UNCOMPARED]);
  });
  it('pixels across frames: on image points', () => {
    const a = { classMap: Uint8Array.from([1, 2, 3, 4]), width: 2, height: 2, placement: uniformPlacement(2, 2) };
    const big = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 9, 3, 3, 4, 4, 3, 3, 4, 4]);
    const b = { classMap: big, width: 4, height: 4, placement: uniformPlacement(2, 2, 2) };
    // image point (x+0.5, y+0.5) reads a at (x, y) and b at (2x+1, 2y+1): only the top-right differs (9 vs 2)
    const d = pixelDisagreement(a, b, 2, 2);
    expect(d).toMatchObject({ kind: 'pixels', width: 2, height: 2, differ: 1, compared: 4 });
  });
  it('boxes only one side has', () => {
    const ref = {
      kind: 'detection' as const,
      detections: [boxAt(0), boxAt(20, 1, 0.8, 1)],
      threshold: 0.5,
      thresholdFrom: 'default' as const,
    };
    const model = { ...ref, detections: [boxAt(1, 1, 0.9, 5), boxAt(40, 1, 0.7, 6)] };
    const d = disagreementOf(ref, model, 100, 10);
    expect(d.kind).toBe('boxes');
    if (d.kind === 'boxes') {
      expect(d.onlyReference.map((x) => x.x0)).toEqual([20]);
      expect(d.onlyModel.map((x) => x.query)).toEqual([6]);
    }
    expect(disagreementOf(ref, null, 1, 1)).toEqual({ kind: 'none', reason: 'waiting for both models to run' });
  });
});
