/**
 * COCO run-length encoding of binary masks, as pycocotools writes it (checked against pycocotools output in
 * rle.test.ts; fixture from ml/scripts/make_rle_fixture.py).
 *
 * - Uncompressed: `{ size: [h, w], counts }`, runs over the mask read column-major (down each column, then the
 *   next column), alternating 0-runs and 1-runs and starting with a 0-run (which is 0 when pixel (0, 0) is set).
 * - Compressed: the same counts as an ASCII string (pycocotools' rleToString): from the fourth count on, each
 *   count is stored as its difference to the count two before it (runs of one value tend to be alike), then
 *   written as little-endian 5-bit groups, each as the character 48 + group, with bit 0x20 set while more
 *   groups follow and bit 0x10 of the last group carrying the sign.
 *
 * Masks here are row-major `Uint8Array`s (the app's convention); any non-zero value is foreground.
 */

export interface UncompressedRle {
  size: [number, number];
  counts: number[];
}

export interface CompressedRle {
  size: [number, number];
  counts: string;
}

export type Rle = UncompressedRle | CompressedRle;

function checkSize(width: number, height: number) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw new RangeError(`mask size must be whole non-negative numbers, got ${width}x${height}`);
}

/** Row-major binary mask → uncompressed COCO RLE (column-major runs, starting with zeros). */
export function maskToRle(mask: ArrayLike<number>, width: number, height: number): UncompressedRle {
  checkSize(width, height);
  if (mask.length !== width * height)
    throw new RangeError(`mask has ${mask.length} values but ${width}x${height} needs ${width * height}`);
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== value) {
        counts.push(run);
        run = 0;
        value = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Counts → pycocotools' string (rleToString: delta to the count two back from index 3 on, 5-bit groups). */
export function countsToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (!Number.isInteger(x) || x < 0)
      throw new RangeError(`count ${i} is ${x}; counts are whole non-negative numbers`);
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32; // x & 0x1f, also for negatives and beyond 32 bits
      x = Math.floor(x / 32); // arithmetic shift right by 5
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** pycocotools' string → counts (rleFrString). Throws on characters outside its alphabet or a cut-off count. */
export function stringToCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new SyntaxError(`RLE string ends inside a count (at character ${p})`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw new SyntaxError(`RLE string has '${s[p]}' at ${p}, outside pycocotools' alphabet ('0'..'o')`);
      x += (c & 0x1f) * 32 ** k;
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 32 ** k; // sign-extend: x |= -1 << 5k
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

export const compressRle = (rle: UncompressedRle): CompressedRle => ({
  size: [rle.size[0], rle.size[1]],
  counts: countsToString(rle.counts),
});

export const decompressRle = (rle: Rle): UncompressedRle =>
  typeof rle.counts === 'string'
    ? { size: [rle.size[0], rle.size[1]], counts: stringToCounts(rle.counts) }
    : (rle as UncompressedRle);

/** Row-major binary mask → compressed COCO RLE (what pycocotools' mask.encode returns, counts as text). */
export const encodeMask = (mask: ArrayLike<number>, width: number, height: number): CompressedRle =>
  compressRle(maskToRle(mask, width, height));

/** COCO RLE (either form) → row-major 0/1 mask. Throws when the runs do not cover size[0]·size[1] pixels. */
export function rleToMask(rle: Rle): { mask: Uint8Array; width: number; height: number } {
  const [height, width] = rle.size;
  checkSize(width, height);
  const { counts } = decompressRle(rle);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== width * height)
    throw new RangeError(`RLE runs cover ${total} pixels but the size ${height}x${width} has ${width * height}`);
  const mask = new Uint8Array(width * height);
  let i = 0; // column-major position
  counts.forEach((n, j) => {
    if (j % 2 === 1) {
      for (let t = i; t < i + n; t++) mask[(t % height) * width + Math.floor(t / height)] = 1;
    }
    i += n;
  });
  return { mask, width, height };
}

/** Foreground pixels (pycocotools' mask.area). */
export const rleArea = (rle: Rle): number => decompressRle(rle).counts.reduce((a, n, j) => a + (j % 2 ? n : 0), 0);

/** Bounding box [x, y, w, h] of the foreground, [0, 0, 0, 0] when empty (pycocotools' mask.toBbox). */
export function rleBbox(rle: Rle): [number, number, number, number] {
  const [h, w] = rle.size;
  const { counts } = decompressRle(rle);
  const m = Math.floor(counts.length / 2) * 2; // a trailing 0-run adds nothing
  if (m === 0 || h === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc += counts[j];
    const t = cc - (j % 2); // start of a 1-run (even j) or its last pixel (odd j)
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      ys = 0; // the run wraps into the next column: it spans every row
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

export interface CocoMaskDocument {
  info: { description: string };
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: {
    id: number;
    image_id: number;
    category_id: number;
    segmentation: CompressedRle;
    area: number;
    bbox: [number, number, number, number];
    iscrowd: 0;
  }[];
  categories: { id: number; name: string; supercategory: string }[];
}

/**
 * A COCO instances document holding one mask as one annotation (compressed RLE, area, bbox) on one image,
 * readable by pycocotools (COCO(...).annToMask).
 */
export function cocoMaskDocument(opts: {
  mask: ArrayLike<number>;
  width: number;
  height: number;
  fileName: string;
  category?: string;
  description?: string;
}): CocoMaskDocument {
  const segmentation = encodeMask(opts.mask, opts.width, opts.height);
  return {
    info: { description: opts.description ?? 'AttnLens mask' },
    images: [{ id: 1, file_name: opts.fileName, width: opts.width, height: opts.height }],
    annotations: [
      {
        id: 1,
        image_id: 1,
        category_id: 1,
        segmentation,
        area: rleArea(segmentation),
        bbox: rleBbox(segmentation),
        iscrowd: 0,
      },
    ],
    categories: [{ id: 1, name: opts.category ?? 'foreground', supercategory: 'pseudo-mask' }],
  };
}

/**
 * A COCO polygon [x0, y0, x1, y1, …] → run-length counts of its raster at h×w, as pycocotools rasterises it
 * (maskApi.c rleFrPoly): the boundary walked densely on a 5× upsampled grid, its crossings of pixel-centre
 * columns turned into run boundaries. Same pixels as pycocotools, tested against it.
 */
export function polygonToRle(xy: readonly number[], height: number, width: number): UncompressedRle {
  const scale = 5;
  const k = Math.floor(xy.length / 2);
  const trunc = (v: number) => Math.trunc(v); // C's (int) cast
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(trunc(scale * xy[2 * j] + 0.5));
    y.push(trunc(scale * xy[2 * j + 1] + 0.5));
  }
  x.push(x[0]);
  y.push(y[0]);
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy)
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(trunc(ys + s * t + 0.5));
      }
    else
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(trunc(xs + s * t + 0.5));
      }
  }
  // points where the boundary crosses a pixel-centre column, downsampled
  const bx: number[] = [];
  const by: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > width - 1) continue;
    let yd = Math.min(v[j], v[j - 1]);
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(Math.max(0, Math.min(height, yd)));
    bx.push(xd);
    by.push(yd);
  }
  const a = bx.map((xv, j) => xv * height + by[j]);
  a.push(height * width);
  a.sort((p, q) => p - q);
  let previous = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= previous;
    previous = t;
  }
  const counts: number[] = [a[0]];
  for (let j = 1; j < a.length; ) {
    if (a[j] > 0) counts.push(a[j++]);
    else {
      j++;
      if (j < a.length) counts[counts.length - 1] += a[j++];
    }
  }
  return { size: [height, width], counts };
}

/** The pixels of a COCO polygon segmentation (one or more parts, their union) at h×w, row-major 0/1. */
export function polygonsToMask(polygons: readonly (readonly number[])[], height: number, width: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const p of polygons) {
    const part = rleToMask(polygonToRle(p, height, width)).mask;
    for (let i = 0; i < mask.length; i++) mask[i] |= part[i];
  }
  return mask;
}
