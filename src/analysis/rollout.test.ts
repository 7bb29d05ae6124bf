import { describe, expect, it } from 'vitest';
import { headMean } from './attention';
import { randomAttentionStack as randomStack } from './attentionFixtures';
import { type AttentionStack, attentionRollout } from './rollout';

/** Independent reference: full matrix products, as the paper writes it. */
function naiveRollout(s: AttentionStack, upTo: number, identity: boolean): number[][] {
  const t = s.tokens;
  let r: number[][] = Array.from({ length: t }, (_, i) => Array.from({ length: t }, (_, j) => (i === j ? 1 : 0)));
  for (let l = 0; l <= upTo; l++) {
    const a = Array.from({ length: t }, (_, i) =>
      Array.from({ length: t }, (_, j) => {
        let m = 0;
        for (let h = 0; h < s.heads; h++) m += s.data[((l * s.heads + h) * t + i) * t + j] / s.heads;
        return identity ? 0.5 * m + 0.5 * (i === j ? 1 : 0) : m;
      }),
    );
    r = a.map((row) => Array.from({ length: t }, (_, j) => row.reduce((acc, v, k) => acc + v * r[k][j], 0)));
  }
  return r;
}

describe('attention rollout', () => {
  const s = randomStack(4, 3, 7);

  it('equals the full matrix product R = Â_l … Â_0, row by row', () => {
    for (const identity of [true, false])
      for (const upTo of [0, 2, 3]) {
        const ref = naiveRollout(s, upTo, identity);
        for (const query of [0, 4]) {
          const row = attentionRollout(s, { upTo, identity, head: 'mean', query });
          row.forEach((v, j) => {
            expect(v).toBeCloseTo(ref[query][j], 6);
          });
        }
      }
  });

  it('keeps a probability distribution (rows of Â sum to 1)', () => {
    const row = attentionRollout(s, { upTo: 3, identity: true, head: 'mean' });
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("with one layer and no identity term is that layer's head-mean CLS row", () => {
    const row = attentionRollout(s, { upTo: 0, identity: false, head: 'mean' });
    const t = s.tokens;
    const clsRows = new Float32Array(s.heads * t);
    for (let h = 0; h < s.heads; h++) clsRows.set(s.data.subarray(h * t * t, h * t * t + t), h * t); // layer 0, row 0 of each head
    const layer0 = headMean(clsRows, s.heads);
    row.forEach((v, j) => {
      expect(v).toBeCloseTo(layer0[j], 6);
    });
  });

  it('the identity term keeps weight on the token itself', () => {
    // A layer that moves all attention to token 1: without identity the CLS row is e1, with it ½e0 + ½e1.
    const t = 3;
    const data = new Float32Array(t * t);
    for (let i = 0; i < t; i++) data[i * t + 1] = 1;
    const one = { data, layers: 1, heads: 1, tokens: t };
    expect(Array.from(attentionRollout(one, { upTo: 0, identity: false, head: 'mean' }))).toEqual([0, 1, 0]);
    expect(Array.from(attentionRollout(one, { upTo: 0, identity: true, head: 0 }))).toEqual([0.5, 0.5, 0]);
  });

  it('refuses a stack of the wrong size and layers or heads out of range', () => {
    expect(() => attentionRollout({ ...s, tokens: 8 }, { upTo: 0, identity: true, head: 'mean' })).toThrow(
      /expected 4×3×8×8/,
    );
    expect(() => attentionRollout(s, { upTo: 4, identity: true, head: 'mean' })).toThrow(/outside 0..3/);
    expect(() => attentionRollout(s, { upTo: 1, identity: true, head: 3 })).toThrow(/head 3/);
  });
});
