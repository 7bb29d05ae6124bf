import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256, sha256Js } from './sha256';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sha256Js (the digest on an insecure origin, where crypto.subtle is missing)', () => {
  it('gives the known digests', () => {
    expect(hex(sha256Js(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256Js(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('matches node:crypto at every padding boundary and on an image-sized buffer', () => {
    let seed = 1;
    const random = (n: number) =>
      Uint8Array.from({ length: n }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 24;
      });
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const b = random(n);
      expect(hex(sha256Js(b)), `${n} bytes`).toBe(node(b));
    }
    const image = random(8 + 640 * 480 * 4);
    expect(hex(sha256Js(image))).toBe(node(image));
  });

  it('sha256 answers the same with and without crypto.subtle', async () => {
    const b = new TextEncoder().encode('AttnLens');
    const withSubtle = hex(await sha256(b));
    const crypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      expect(hex(await sha256(b))).toBe(withSubtle);
    } finally {
      if (crypto) Object.defineProperty(globalThis, 'crypto', crypto);
    }
    expect(withSubtle).toBe(node(b));
  });
});
