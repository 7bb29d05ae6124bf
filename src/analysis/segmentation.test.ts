import { describe, expect, it } from 'vitest';
import { argmaxClasses, maskAgreement, NO_CLASS, unclassified } from './segmentation';

describe('argmaxClasses', () => {
  it('picks the largest channel per pixel', () => {
    // 3 classes, 1x2 image: pixel 0 → class 2, pixel 1 → class 0
    const logits = new Float32Array([0, 5, 1, -1, 3, 0]);
    expect(Array.from(argmaxClasses(logits, 3, 1, 2))).toEqual([2, 0]);
  });
  it('rejects logits of the wrong size', () => {
    expect(() => argmaxClasses(new Float32Array(5), 3, 1, 2)).toThrow(/expected 3x1x2/);
  });
});

describe('maskAgreement', () => {
  it('computes per-class IoU and skips absent classes', () => {
    const a = new Uint8Array([0, 0, 1, 1]);
    const b = new Uint8Array([0, 1, 1, 1]);
    const r = maskAgreement(a, b, 3);
    expect(r.iou).toEqual([0.5, 2 / 3, null]);
    expect(r.miou).toBeCloseTo((0.5 + 2 / 3) / 2);
    expect(r.pixelAgreement).toBe(0.75);
  });
  it('is 1 for identical maps', () => {
    const a = new Uint8Array([2, 0, 1]);
    expect(maskAgreement(a, a, 3).miou).toBe(1);
  });
});

describe('NaN logits', () => {
  it('a pixel with a NaN logit has no class (never class 0 or the first class by accident)', () => {
    // 3 classes, 1×4: NaN in class 0 / in class 2 / +Infinity in class 1 / all finite.
    const logits = new Float32Array([NaN, 0, 0, 0, 1, 0, Infinity, 5, 0, NaN, 0, 1]);
    const map = argmaxClasses(logits, 3, 1, 4);
    expect(Array.from(map)).toEqual([NO_CLASS, NO_CLASS, 1, 1]);
    expect(unclassified(map)).toBe(2);
  });
  it('agreement leaves pixels without a class out (no evidence either way)', () => {
    const a = new Uint8Array([NO_CLASS, 1, 1, 0]);
    const b = new Uint8Array([NO_CLASS, 1, 0, 0]);
    const r = maskAgreement(a, b, 3);
    expect(r.pixelAgreement).toBeCloseTo(2 / 3);
    expect(r.iou).toEqual([0.5, 0.5, null]);
    expect(maskAgreement(new Uint8Array([NO_CLASS]), new Uint8Array([NO_CLASS]), 3).pixelAgreement).toBe(0);
  });
});
