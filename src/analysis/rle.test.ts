import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cocoMaskDocument,
  compressRle,
  countsToString,
  decompressRle,
  encodeMask,
  maskToRle,
  polygonsToMask,
  rleArea,
  rleBbox,
  rleToMask,
  stringToCounts,
} from './rle';

interface Case {
  name: string;
  size: [number, number];
  mask_packbits: string;
  counts: number[];
  compressed: string;
  area: number;
  bbox: number[];
}
/** Written by ml/scripts/make_rle_fixture.py with pycocotools. */
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/coco-rle.json'), 'utf8')) as { cases: Case[] };

function unpack(c: Case): Uint8Array {
  const bytes = Buffer.from(c.mask_packbits, 'base64');
  const n = c.size[0] * c.size[1];
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return mask;
}

/** A seeded generator (mulberry32), so the random masks are the same on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('COCO RLE against pycocotools', () => {
  it('the fixture covers odd sizes, empty, full and random masks', () => {
    const names = fixture.cases.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['1x1 empty', '4x6 empty', '6x4 full', '13x17 random 0.5', '3x5 first pixel set']),
    );
    expect(fixture.cases.some((c) => c.size[0] % 2 === 1 && c.size[1] % 2 === 1)).toBe(true);
  });
  for (const c of fixture.cases) {
    it(`${c.name}: counts, string, area and bbox equal pycocotools'`, () => {
      const [h, w] = c.size;
      const mask = unpack(c);
      const rle = maskToRle(mask, w, h);
      expect(rle).toEqual({ size: [h, w], counts: c.counts });
      expect(encodeMask(mask, w, h)).toEqual({ size: [h, w], counts: c.compressed });
      expect(stringToCounts(c.compressed)).toEqual(c.counts);
      expect(rleArea(rle)).toBe(c.area);
      expect(rleArea({ size: [h, w], counts: c.compressed })).toBe(c.area);
      expect(rleBbox({ size: [h, w], counts: c.compressed })).toEqual(c.bbox);
      const back = rleToMask({ size: [h, w], counts: c.compressed });
      expect(back.width).toBe(w);
      expect(back.height).toBe(h);
      expect(Array.from(back.mask)).toEqual(Array.from(mask));
    });
  }
});

describe('COCO RLE round trips', () => {
  it('random masks of many shapes and densities survive encode → string → decode', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const w = 1 + Math.floor(rand() * 40);
      const h = 1 + Math.floor(rand() * 40);
      const density = rand();
      const mask = Uint8Array.from({ length: w * h }, () => (rand() < density ? 1 : 0));
      const rle = encodeMask(mask, w, h);
      expect(Array.from(rleToMask(rle).mask)).toEqual(Array.from(mask));
      expect(rleArea(rle)).toBe(mask.reduce((a, b) => a + b, 0));
      expect(decompressRle(rle).counts.reduce((a, b) => a + b, 0)).toBe(w * h);
    }
  });
  it('counts beyond 32 bits and large negative deltas survive the string form', () => {
    const counts = [0, 1, 2 ** 33 + 5, 3, 7, 2 ** 20, 1, 0x7fffffff, 2];
    expect(stringToCounts(countsToString(counts))).toEqual(counts);
  });
  it('treats any non-zero value as foreground, like a 0/255 canvas mask', () => {
    expect(maskToRle(Uint8Array.from([0, 255, 255, 0]), 2, 2)).toEqual(maskToRle(Uint8Array.from([0, 1, 1, 0]), 2, 2));
  });
  it('refuses a mask of the wrong length, a bad string and runs that do not fill the image', () => {
    expect(() => maskToRle(new Uint8Array(5), 2, 3)).toThrow(/5 values but 2x3 needs 6/);
    expect(() => stringToCounts('0p')).toThrow(/outside pycocotools' alphabet/);
    expect(() => stringToCounts('Z')).toThrow(/ends inside a count/); // 'Z' - 48 = 42 has the "more" bit set
    expect(() => rleToMask({ size: [2, 2], counts: [1, 2] })).toThrow(/cover 3 pixels/);
  });
  it('compressRle keeps the size and only changes the counts form', () => {
    const rle = { size: [3, 2] as [number, number], counts: [1, 4, 1] };
    expect(compressRle(rle)).toEqual({ size: [3, 2], counts: countsToString([1, 4, 1]) });
    expect(decompressRle(compressRle(rle))).toEqual(rle);
  });
});

describe('COCO document for one mask', () => {
  it('holds the compressed mask with its area, bbox and the image file name', () => {
    const mask = new Uint8Array(6 * 4);
    mask[1 * 6 + 2] = mask[2 * 6 + 2] = mask[2 * 6 + 3] = 1; // rows 1-2, columns 2-3
    const doc = cocoMaskDocument({ mask, width: 6, height: 4, fileName: 'a.png' });
    expect(doc.images).toEqual([{ id: 1, file_name: 'a.png', width: 6, height: 4 }]);
    const [ann] = doc.annotations;
    expect(ann.area).toBe(3);
    expect(ann.bbox).toEqual([2, 1, 2, 2]);
    expect(typeof ann.segmentation.counts).toBe('string');
    expect(Array.from(rleToMask(ann.segmentation).mask)).toEqual(Array.from(mask));
    expect(doc.categories[0].id).toBe(ann.category_id);
  });
});

describe('COCO polygons, rasterised as pycocotools does', () => {
  const polygons = (
    JSON.parse(readFileSync(join(__dirname, 'fixtures/coco-rle.json'), 'utf8')) as {
      polygons: { name: string; size: [number, number]; polygons: number[][]; counts: number[] }[];
    }
  ).polygons;
  it.each(polygons)('$name: the same pixels as pycocotools (frPyObjects, merge)', ({ size, polygons, counts }) => {
    const [h, w] = size;
    const expected = rleToMask({ size, counts }).mask;
    const got = polygonsToMask(polygons, h, w);
    expect([...got]).toEqual([...expected]);
  });
});
