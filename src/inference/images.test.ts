/** The analysed size of an image: the longest side at most MAX_SIDE, no side ever 0. */
import { describe, expect, it } from 'vitest';
import { analysedSize } from './images';

describe('analysedSize', () => {
  it('keeps what fits, scales what does not, per axis, never to 0', () => {
    expect(analysedSize(640, 480)).toEqual({ width: 640, height: 480 });
    expect(analysedSize(4096, 4096)).toEqual({ width: 4096, height: 4096 });
    expect(analysedSize(7100, 7100)).toEqual({ width: 4096, height: 4096 });
    expect(analysedSize(100_000, 1)).toEqual({ width: 4096, height: 1 });
    expect(analysedSize(1, 100_000)).toEqual({ width: 1, height: 4096 });
    expect(analysedSize(8000, 2)).toEqual({ width: 4096, height: 1 });
    expect(analysedSize(20_000, 20_000)).toEqual({ width: 4096, height: 4096 });
    expect(analysedSize(5000, 400)).toEqual({ width: 4096, height: 328 });
  });
});
