import { describe, expect, it } from 'vitest';
import { uniformPlacement } from '../analysis/geometry';
import { boxAt } from '../analysis/testBoxes';
import { objectFailures, pixelFailures } from './failures';

const gt = (x: number, c = 1) => ({ x0: x, y0: 0, x1: x + 10, y1: 10, classId: c });

describe('failures against ground truth', () => {
  it('objects: only the reference, only the model, neither (by hand)', () => {
    const truth = [gt(0), gt(20), gt(40), gt(60, 2)];
    // reference finds 0 and 20; model finds 20 and 40; nobody finds 60 (model's box there has another class)
    const f = objectFailures(truth, [boxAt(0), boxAt(21)], [boxAt(19), boxAt(40), boxAt(60, 1)]);
    expect(f).toEqual({ unit: 'objects', only_reference: 1, only_model: 1, neither: 1, total: 4 });
    expect(objectFailures([], [boxAt(0)], [])).toEqual({
      unit: 'objects',
      only_reference: 0,
      only_model: 0,
      neither: 0,
      total: 0,
    });
  });
  it('pixels in one frame; a pixel without a class is skipped', () => {
    const truth = {
      classMap: Uint8Array.from([0, 1, 1, 2, 2, 1]),
      width: 3,
      height: 2,
      placement: uniformPlacement(3, 2),
    };
    const ref = { ...truth, classMap: Uint8Array.from([0, 1, 0, 2, 0, 255]) };
    const model = { ...truth, classMap: Uint8Array.from([0, 0, 1, 1, 0, 1]) };
    // px0 both right; px1 only ref; px2 only model; px3 only ref; px4 neither; px5 ref has no class: skipped
    expect(pixelFailures(truth, ref, model, 3, 2)).toEqual({
      unit: 'pixels',
      only_reference: 2,
      only_model: 1,
      neither: 1,
      total: 5,
    });
  });
  it('pixels across frames: each map read through its placement', () => {
    // the model saw the 2×2 image at 4×4: the same classes at twice the size
    const truth = { classMap: Uint8Array.from([1, 2, 0, 1]), width: 2, height: 2, placement: uniformPlacement(2, 2) };
    const big = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2, 0, 0, 1, 1, 0, 0, 1, 1]);
    const model = { classMap: big, width: 4, height: 4, placement: uniformPlacement(2, 2, 2) };
    const ref = { ...truth, classMap: Uint8Array.from([0, 2, 0, 1]) };
    expect(pixelFailures(truth, ref, model, 2, 2)).toEqual({
      unit: 'pixels',
      only_reference: 0,
      only_model: 1,
      neither: 0,
      total: 4,
    });
  });
});
