import { describe, expect, it } from 'vitest';
import { attnfdDistance, energyMap, range, topChannels } from './attention';

describe('attnfdDistance', () => {
  it('is 0 for maps equal up to scale, 2 for orthogonal, 4 for opposite', () => {
    const a = new Float32Array([1, 2, 3]);
    expect(attnfdDistance(a, new Float32Array([2, 4, 6])).distance).toBeCloseTo(0);
    expect(attnfdDistance(new Float32Array([1, 0]), new Float32Array([0, 1])).distance).toBeCloseTo(2);
    expect(attnfdDistance(a, new Float32Array([-1, -2, -3])).distance).toBeCloseTo(4);
  });
  it('refuses maps of different widths', () => {
    expect(() => attnfdDistance(new Float32Array(4), new Float32Array(6))).toThrow(/equal width/);
  });
});

describe('energyMap / topChannels / range', () => {
  it('averages squares over channels per location', () => {
    expect(Array.from(energyMap(new Float32Array([1, 2, 3, 4]), 2))).toEqual([5, 10]);
  });
  it('sorts channels by gate value', () => {
    expect(topChannels(new Float32Array([0.1, 0.9, 0.5]), 2)).toEqual(
      [
        { channel: 1, value: 0.9 },
        { channel: 2, value: 0.5 },
      ].map((c) => ({ ...c, value: Math.fround(c.value) })),
    );
  });
  it('finds the value range', () => {
    expect(range(new Float32Array([3, -1, 2]))).toEqual([-1, 3]);
  });
});

describe('pseudo-mask rules (same cases as ml/tests/test_metrics.py)', async () => {
  const { dinoMassMask, cstScoreMask, patchMaskIoU } = await import('./attention');
  it('DINO keeps the smallest set holding the mass', () => {
    const a = new Float32Array([0.5, 0.3, 0.1, 0.1]);
    expect(Array.from(dinoMassMask(a, 0.6))).toEqual([1, 1, 0, 0]);
    expect(Array.from(dinoMassMask(a, 0.4))).toEqual([1, 0, 0, 0]);
    expect(Array.from(dinoMassMask(new Float32Array([0.1, 0.1, 0.3, 0.5]), 0.6))).toEqual([0, 0, 1, 1]);
  });
  it('CST maps head-mean cosine to (c+1)/2 and thresholds it', () => {
    const cos = new Float32Array([1, -1, -0.3, 1, -1, -0.1]);
    expect(Array.from(cstScoreMask(cos, 2, 0.39).mask)).toEqual([1, 0, 1]);
    expect(Array.from(cstScoreMask(cos, 2, 0.41).mask)).toEqual([1, 0, 0]);
  });
  it('patch-mask IoU against pixels', () => {
    const pixels = new Uint8Array(16);
    [0, 1, 4, 5, 10].forEach((i) => {
      // one full 2x2 patch + a quarter of another
      pixels[i] = 1;
    });
    expect(patchMaskIoU(new Uint8Array([1, 0, 0, 0]), 2, 2, pixels, 4)).toBeCloseTo(4 / 5);
  });
});

describe('KS-DETR foreground share', async () => {
  const { keyAttentionPerHead, boxMaskOnGrid, maskedShare } = await import('./attention');
  it('averages attention received per key over queries, per head', () => {
    // 1 head, 2 tokens: query 0 looks at key 1, query 1 splits evenly
    expect(Array.from(keyAttentionPerHead(new Float32Array([0, 1, 0.5, 0.5]), 1, 2)[0])).toEqual([0.25, 0.75]);
  });
  it('marks grid cells under boxes and measures the share on them', () => {
    const m = boxMaskOnGrid([{ x0: 0, y0: 0, x1: 40, y1: 40 }], 160, 160, 4, 4);
    expect(Array.from(m).reduce((a, b) => a + b, 0)).toBe(1);
    expect(maskedShare(new Float32Array([0.5, 0.25, 0.25]), new Uint8Array([1, 0, 0]))).toBe(0.5);
  });
});

describe('SAK similarity maps', async () => {
  const { perLocationCosine, tokensToChannels } = await import('./attention');
  it('cosine per location over channels', () => {
    // 2 channels, 2 locations: location 0 same direction, location 1 orthogonal
    const a = new Float32Array([1, 1, 0, 0]);
    const b = new Float32Array([2, 0, 0, 3]);
    expect(Array.from(perLocationCosine(a, b, 2))).toEqual([1, 0]);
  });
  it('transposes token-major features', () => {
    expect(Array.from(tokensToChannels(new Float32Array([1, 2, 3, 4, 5, 6]), 3, 2))).toEqual([1, 3, 5, 2, 4, 6]);
  });
});
