import { describe, expect, it } from 'vitest';
import { placement, toImage } from '../analysis/geometry';
import type { ContractInput } from '../contract';
import { toTensor } from './preprocess';

const input: ContractInput = {
  name: 'image',
  shape: [1, 3, 2, 2],
  layout: 'NCHW',
  dtype: 'float32',
  color: 'RGB',
  scale: 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  resize: 'stretch',
};

describe('toTensor', () => {
  const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
  it('normalises and lays out channels first', () => {
    expect(Array.from(toTensor(rgba, input))).toEqual([2, -2, -2, 2, -2, 2, -2, 2, -2, -2, 2, 2]);
  });
  it('honours BGR and NHWC', () => {
    const t = toTensor(rgba, { ...input, color: 'BGR', layout: 'NHWC', shape: [1, 2, 2, 3] });
    expect(Array.from(t.slice(0, 3))).toEqual([-2, -2, 2]); // first pixel is red: B, G, R
  });
  it('rejects pixels of the wrong size', () => {
    expect(() => toTensor(new Uint8ClampedArray(8), input)).toThrow(/expected 2x2 RGBA/);
  });
});

describe('placement', () => {
  const big = { ...input, shape: [1, 3, 160, 160] as [number, number, number, number] };
  it('stretch maps input corners to image corners', () => {
    const p = placement(640, 320, big);
    expect(toImage(p, 160, 160)).toEqual([640, 320]);
    expect(toImage(p, 80, 40)).toEqual([320, 80]);
  });
  it('letterbox keeps aspect and centres the image', () => {
    const p = placement(640, 320, { ...big, resize: 'letterbox' });
    expect(p.scaleX).toBe(0.25);
    expect(p.offsetY).toBe(40);
    expect(toImage(p, 0, 40)).toEqual([0, 0]);
    expect(toImage(p, 160, 120)).toEqual([640, 320]);
  });
});

describe('classAt through a letterbox placement', async () => {
  const { classAt } = await import('../app/task');
  it('reads the class under an image pixel, null in the padding', () => {
    const big = { ...input, shape: [1, 3, 4, 4] as [number, number, number, number], resize: 'letterbox' as const };
    const p = placement(8, 4, big); // scale 0.5, offsetY 1: rows 1..2 of the 4x4 map hold the image
    const classMap = new Uint8Array([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
    const r = { classMap, width: 4, height: 4, placement: p };
    expect(classAt(r, 0, 0)).toBe(1);
    expect(classAt(r, 7, 3)).toBe(8);
    expect(classAt(r, 2.5, 1.9)).toBe(2);
    expect(classAt(r, -1, 0)).toBeNull();
  });
});
