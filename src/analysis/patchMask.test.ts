import { describe, expect, it } from 'vitest';
import { plainInput } from '../contract/testContracts';
import { placement } from './geometry';
import { patchMaskToImage } from './patchMask';

const input = (resize: 'stretch' | 'letterbox') => plainInput(16, 16, resize);
// 2x2 grid of 8-px patches on a 16x16 input; top-left and bottom-right patches kept.
const mask = Uint8Array.from([1, 0, 0, 1]);

describe('patch mask → image pixels', () => {
  it('at the input size every kept patch is patch² pixels', () => {
    const out = patchMaskToImage(mask, [2, 2], 8, 16, 16, placement(16, 16, input('stretch')));
    expect(out.reduce((a, b) => a + b, 0)).toBe(2 * 64);
    expect(out[0]).toBe(1);
    expect(out[7]).toBe(1);
    expect(out[8]).toBe(0); // row 0, column 8: the top-right patch
    expect(out[15 * 16 + 15]).toBe(1);
  });
  it('stretches to a non-square image (each patch covers its share of rows and columns)', () => {
    const out = patchMaskToImage(mask, [2, 2], 8, 30, 10, placement(30, 10, input('stretch')));
    expect(out.reduce((a, b) => a + b, 0)).toBe(2 * 15 * 5);
    expect(out[0]).toBe(1);
    expect(out[14]).toBe(1);
    expect(out[15]).toBe(0);
    expect(out[9 * 30 + 29]).toBe(1);
  });
  it('letterboxed: maps through the letterbox geometry', () => {
    // a 32x16 image sits in rows 4..11 of the 16x16 input (scale 0.5): grid rows 0 and 1 each get 4 input rows
    const full = patchMaskToImage(
      Uint8Array.from([1, 1, 1, 1]),
      [2, 2],
      8,
      32,
      16,
      placement(32, 16, input('letterbox')),
    );
    expect(full.reduce((a, b) => a + b, 0)).toBe(32 * 16);
    const out = patchMaskToImage(mask, [2, 2], 8, 32, 16, placement(32, 16, input('letterbox')));
    expect(out.reduce((a, b) => a + b, 0)).toBe(2 * 16 * 8);
  });
  it('refuses a mask that does not fit the grid', () => {
    expect(() => patchMaskToImage(new Uint8Array(3), [2, 2], 8, 16, 16, placement(16, 16, input('stretch')))).toThrow(
      /3 values/,
    );
  });
});
