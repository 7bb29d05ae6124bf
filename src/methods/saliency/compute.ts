/**
 * Gradient-free saliency (pure, runtime-free): occlusion (Zeiler & Fergus) and RISE (Petsiuk et al. 2018)
 * maps, the deletion and insertion curves that score a map, and the pointing game. A model is only a
 * `Scorer` — a batch of pictures in, one number per picture out — so the same code runs a session in the
 * inference worker and a plain JS function in a unit test.
 *
 * Masks are defined over the *image* (fractions of its width and height), then sampled at each model's input
 * pixels through its placement: two models of different input sizes or resize rules see the same masks, and
 * letterbox padding is never masked (nor ranked, nor pointed at).
 */
import type { Placement } from '../../analysis/geometry';
import { mulberry32 } from '../../evaluate/stats';

/** A model input as the maths sees it: `channels` planes of width×height values (the normalised tensor, CHW). */
export interface Picture {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/**
 * Where each input pixel's centre lies on the image, as a fraction of its width (`ux`, one per column) and
 * height (`uy`, one per row); a fraction outside [0, 1) is letterbox padding.
 */
export interface Frame {
  ux: Float32Array;
  uy: Float32Array;
}

/** A model's answers for a batch of pictures (each `channels`×height×width, as the Picture they came from). */
export type Scorer = (batch: Float32Array[]) => Promise<number[]>;

export interface PassOptions {
  /** Pictures per scorer call (a model with an open batch axis takes them in one run). */
  batch?: number;
  /** Passes done so far (called after every scorer call). */
  onProgress?: (done: number) => void;
  /** Asked before every scorer call: true stops the computation with SaliencyStopped. */
  stopped?: () => boolean;
}

/** The computation was stopped between two batches (Cancel); nothing of it is returned. */
export class SaliencyStopped extends Error {
  constructor() {
    super('saliency-stopped');
  }
}

/** The frame of a model input placed over a width×height image (stretch or letterbox, see analysis/geometry). */
export function frameOf(p: Placement, imageWidth: number, imageHeight: number): Frame {
  const ux = new Float32Array(p.inputWidth);
  const uy = new Float32Array(p.inputHeight);
  for (let u = 0; u < ux.length; u++) ux[u] = (u + 0.5 - p.offsetX) / p.scaleX / imageWidth;
  for (let v = 0; v < uy.length; v++) uy[v] = (v + 0.5 - p.offsetY) / p.scaleY / imageHeight;
  return { ux, uy };
}

/** A width×height picture that is the whole image (no padding). */
export const fullFrame = (width: number, height: number): Frame =>
  frameOf({ inputWidth: width, inputHeight: height, offsetX: 0, offsetY: 0, scaleX: 1, scaleY: 1 }, width, height);

const onImage = (f: number) => f >= 0 && f < 1;

/** 1 for input pixels on the image, 0 for letterbox padding (row-major, the frame's size). */
export function imagePixels(frame: Frame): Uint8Array {
  const w = frame.ux.length;
  const out = new Uint8Array(w * frame.uy.length);
  frame.uy.forEach((y, v) => {
    if (onImage(y)) for (let u = 0; u < w; u++) out[v * w + u] = onImage(frame.ux[u]) ? 1 : 0;
  });
  return out;
}

/** The picture every pixel of which is its image's mean colour (padding excluded): the "mean" fill. */
export function meanFill(p: Picture, frame: Frame): Picture {
  const n = p.width * p.height;
  const on = imagePixels(frame);
  const data = new Float32Array(p.data.length);
  let count = 0;
  for (let i = 0; i < n; i++) count += on[i];
  for (let c = 0; c < p.channels; c++) {
    let sum = 0;
    for (let i = 0; i < n; i++) if (on[i]) sum += p.data[c * n + i];
    data.fill(count ? sum / count : 0, c * n, (c + 1) * n);
  }
  return { ...p, data };
}

/** A box blur of `radius` pixels run three times per axis (close to a Gaussian of σ ≈ radius): the "blur" fill. */
export function blurFill(p: Picture, radius: number): Picture {
  const { width: w, height: h } = p;
  const data = p.data.slice();
  const r = Math.max(1, Math.round(radius));
  const line = new Float32Array(Math.max(w, h));
  const pass = (plane: Float32Array, count: number, stride: number, lines: number, step: number) => {
    for (let l = 0; l < lines; l++) {
      const start = l * step;
      for (let i = 0; i < count; i++) line[i] = plane[start + i * stride];
      // running sum with clamped edges
      let sum = 0;
      for (let k = -r; k <= r; k++) sum += line[Math.min(count - 1, Math.max(0, k))];
      for (let i = 0; i < count; i++) {
        plane[start + i * stride] = sum / (2 * r + 1);
        sum += line[Math.min(count - 1, i + r + 1)] - line[Math.max(0, i - r)];
      }
    }
  };
  for (let c = 0; c < p.channels; c++) {
    const plane = data.subarray(c * w * h, (c + 1) * w * h);
    for (let k = 0; k < 3; k++) {
      pass(plane, w, 1, h, w); // rows
      pass(plane, h, w, w, 1); // columns
    }
  }
  return { ...p, data };
}

/** out = fill + mask · (picture − fill), per channel: mask 1 keeps a pixel, 0 replaces it by the fill. */
export function blend(p: Picture, fill: Picture, mask: Float32Array, out: Float32Array): Float32Array {
  const n = p.width * p.height;
  for (let c = 0; c < p.channels; c++) {
    const o = c * n;
    for (let i = 0; i < n; i++) {
      const f = fill.data[o + i];
      out[o + i] = f + mask[i] * (p.data[o + i] - f);
    }
  }
  return out;
}

// ---- RISE ----

export interface RiseOptions {
  /** Number of random masks N. */
  masks: number;
  /** Cells per side of the low-resolution grid s (the masks' scale: the image is s×s cells). */
  cells: number;
  /** Probability p that a cell is kept. */
  keep: number;
  /** Seed of the generator: the same seed gives the same masks, for every model and every run. */
  seed: number;
}

/**
 * RISE's masks, one at a time, in order: an (s+1)×(s+1) grid of cells kept with probability p, upsampled
 * bilinearly (cell centres at i + ½) and shifted by a random fraction of a cell in x and y — the paper's
 * "upsample to (s+1)·C, crop H×W at a random offset in [0, C)", here over image fractions. Padding stays 1.
 */
export function* riseMasks(frame: Frame, o: RiseOptions): Generator<Float32Array> {
  const draw = mulberry32(o.seed);
  const s = o.cells;
  const g = s + 1;
  const w = frame.ux.length;
  const h = frame.uy.length;
  const grid = new Float32Array(g * g);
  const rows = new Float32Array(g * w); // each grid row interpolated along x
  const x0 = new Int32Array(w);
  const tx = new Float32Array(w);
  for (let m = 0; m < o.masks; m++) {
    for (let i = 0; i < grid.length; i++) grid[i] = draw() < o.keep ? 1 : 0;
    const dx = draw();
    const dy = draw();
    const out = new Float32Array(w * h);
    for (let u = 0; u < w; u++) {
      const gx = Math.min(s, Math.max(0, frame.ux[u] * s + dx - 0.5));
      x0[u] = Math.min(s - 1, Math.floor(gx));
      tx[u] = gx - x0[u];
    }
    for (let j = 0; j < g; j++)
      for (let u = 0; u < w; u++) {
        const a = grid[j * g + x0[u]];
        rows[j * w + u] = a + tx[u] * (grid[j * g + x0[u] + 1] - a);
      }
    for (let v = 0; v < h; v++) {
      const yOn = onImage(frame.uy[v]);
      const gy = Math.min(s, Math.max(0, frame.uy[v] * s + dy - 0.5));
      const y0 = Math.min(s - 1, Math.floor(gy));
      const ty = gy - y0;
      for (let u = 0; u < w; u++) {
        if (!yOn || !onImage(frame.ux[u])) {
          out[v * w + u] = 1;
          continue;
        }
        const a = rows[y0 * w + u];
        out[v * w + u] = a + ty * (rows[(y0 + 1) * w + u] - a);
      }
    }
    yield out;
  }
}

/**
 * RISE saliency at every input pixel: Σᵢ (fᵢ − f̄)·Mᵢ / (N·p), fᵢ the score of the picture masked by Mᵢ
 * (the fill where Mᵢ is 0). Subtracting the mean score f̄ removes only a constant (E[M] = p everywhere) and
 * the noise that constant carried, so pixels the model ignores sit at 0 ± noise. Padding is 0.
 */
export async function riseSaliency(
  p: Picture,
  fill: Picture,
  frame: Frame,
  o: RiseOptions,
  score: Scorer,
  run: PassOptions = {},
): Promise<{ map: Float32Array; meanScore: number }> {
  const n = p.width * p.height;
  const weighted = new Float64Array(n); // Σ fᵢ Mᵢ
  const coverage = new Float64Array(n); // Σ Mᵢ
  let total = 0;
  await inBatches(riseMasks(frame, o), o.masks, p, fill, score, run, (mask, f) => {
    total += f;
    for (let i = 0; i < n; i++) {
      weighted[i] += f * mask[i];
      coverage[i] += mask[i];
    }
  });
  const meanScore = total / o.masks;
  const map = new Float32Array(n);
  for (let i = 0; i < n; i++) map[i] = (weighted[i] - meanScore * coverage[i]) / (o.masks * o.keep);
  return { map, meanScore };
}

// ---- occlusion ----

export interface OcclusionOptions {
  /** Side of the square patch and the step between patches, as fractions of the image's side (0..1]. */
  patch: number;
  stride: number;
}

/** Patch starts along one side: every stride from 0, and one flush with the far edge if the last fell short. */
export function patchStarts(patch: number, stride: number): number[] {
  const eps = 1e-9;
  const starts: number[] = [];
  for (let x = 0; x + patch <= 1 + eps; x += stride) starts.push(x);
  if (!starts.length) return [0];
  const last = starts[starts.length - 1];
  if (last + patch < 1 - eps) starts.push(1 - patch);
  return starts;
}

/** The occluding patches, row by row, as image-fraction rectangles [x0, x1) × [y0, y1). */
export function occlusionPatches(o: OcclusionOptions): { x0: number; y0: number; x1: number; y1: number }[] {
  const starts = patchStarts(o.patch, o.stride);
  return starts.flatMap((y0) => starts.map((x0) => ({ x0, y0, x1: x0 + o.patch, y1: y0 + o.patch })));
}

/**
 * Occlusion saliency at every input pixel: the mean, over the patches covering it, of the score's drop when
 * the patch is replaced by the fill (`base` − occluded score); 0 where no patch covers it (and on padding).
 */
export async function occlusionSaliency(
  p: Picture,
  fill: Picture,
  frame: Frame,
  o: OcclusionOptions,
  base: number,
  score: Scorer,
  run: PassOptions = {},
): Promise<Float32Array> {
  const w = frame.ux.length;
  const n = p.width * p.height;
  const patches = occlusionPatches(o);
  const drops = new Float64Array(n);
  const covers = new Float64Array(n);
  function* masks() {
    for (const r of patches) {
      const mask = new Float32Array(n).fill(1);
      frame.uy.forEach((y, v) => {
        if (y < r.y0 || y >= r.y1 || !onImage(y)) return;
        for (let u = 0; u < w; u++)
          if (frame.ux[u] >= r.x0 && frame.ux[u] < r.x1 && onImage(frame.ux[u])) mask[v * w + u] = 0;
      });
      yield mask;
    }
  }
  await inBatches(masks(), patches.length, p, fill, score, run, (mask, f) => {
    const drop = base - f;
    for (let i = 0; i < n; i++)
      if (mask[i] === 0) {
        drops[i] += drop;
        covers[i] += 1;
      }
  });
  const map = new Float32Array(n);
  for (let i = 0; i < n; i++) map[i] = covers[i] ? drops[i] / covers[i] : 0;
  return map;
}

// ---- deletion and insertion ----

/** Image pixels (never padding) by saliency, highest first (NaN last; ties in pixel order). */
export function saliencyOrder(map: Float32Array, frame: Frame): Int32Array {
  const on = imagePixels(frame);
  const idx: number[] = [];
  for (let i = 0; i < map.length; i++) if (on[i]) idx.push(i);
  const key = (i: number) => (Number.isNaN(map[i]) ? -Infinity : map[i]);
  idx.sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(idx);
}

/** Area under a curve sampled at evenly spaced x in [0, 1] (trapezoids): in the curve's own units. */
export function trapezoidAuc(ys: readonly number[]): number {
  if (ys.length < 2) return ys[0] ?? NaN;
  let area = 0;
  for (let j = 1; j < ys.length; j++) area += (ys[j - 1] + ys[j]) / 2;
  return area / (ys.length - 1);
}

export interface Curves {
  /** Score after removing the top j/k of the image's pixels (into the fill), j = 0…k. */
  deletion: number[];
  /** Score of the fill with the top j/k of the pixels put back, j = 0…k. */
  insertion: number[];
  deletionAuc: number;
  insertionAuc: number;
}

/**
 * Deletion and insertion (Petsiuk et al.): pixels in order of saliency, k steps. `base` (the unmasked score)
 * and `filled` (everything filled) are the curves' known ends, so each curve costs k − 1 passes. A good map
 * makes deletion fall fast (low AUC) and insertion rise fast (high AUC).
 */
export async function deletionInsertion(
  p: Picture,
  fill: Picture,
  frame: Frame,
  map: Float32Array,
  steps: number,
  ends: { base: number; filled: number },
  score: Scorer,
  run: PassOptions = {},
): Promise<Curves> {
  const order = saliencyOrder(map, frame);
  const n = p.width * p.height;
  const on = imagePixels(frame);
  const count = (j: number) => Math.round((j / steps) * order.length);
  function* masks() {
    for (let j = 1; j < steps; j++) {
      const deletion = new Float32Array(n).fill(1);
      for (let r = 0; r < count(j); r++) deletion[order[r]] = 0;
      yield deletion;
      const insertion = new Float32Array(n);
      for (let i = 0; i < n; i++) insertion[i] = on[i] ? 0 : 1;
      for (let r = 0; r < count(j); r++) insertion[order[r]] = 1;
      yield insertion;
    }
  }
  const scores: number[] = [];
  await inBatches(masks(), 2 * Math.max(0, steps - 1), p, fill, score, run, (_, f) => scores.push(f));
  const deletion = [ends.base, ...scores.filter((_, i) => i % 2 === 0), ends.filled];
  const insertion = [ends.filled, ...scores.filter((_, i) => i % 2 === 1), ends.base];
  return { deletion, insertion, deletionAuc: trapezoidAuc(deletion), insertionAuc: trapezoidAuc(insertion) };
}

// ---- a whole job ----

export type SaliencyMethod = { kind: 'rise'; rise: RiseOptions } | { kind: 'occlusion'; occlusion: OcclusionOptions };

export interface SaliencySpec {
  method: SaliencyMethod;
  /**
   * What a removed pixel becomes: the image's mean colour, a blurred copy of the image, or the input tensor's
   * zero (the colour the contract's normalisation maps to 0: its data set's mean colour, or black).
   */
  fill: 'mean' | 'blur' | 'zero';
  /** Deletion / insertion steps k (0: no curves). */
  steps: number;
}

export interface SaliencyOutcome {
  /** Saliency at every input pixel (row-major, width×height of the model input). */
  map: Float32Array;
  width: number;
  height: number;
  /** The score of the unmasked image, and of the image entirely filled. */
  base: number;
  filled: number;
  curves: Curves | null;
  passes: number;
}

/** Model passes a job takes: the image and its fill, the method's masks, then k − 1 per curve. */
export function passCount(spec: SaliencySpec): number {
  const method =
    spec.method.kind === 'rise'
      ? spec.method.rise.masks
      : patchStarts(spec.method.occlusion.patch, spec.method.occlusion.stride).length ** 2;
  return 2 + method + (spec.steps > 0 ? 2 * (spec.steps - 1) : 0);
}

/** Blur radius of the "blur" fill: a tenth of the input's shorter side (at least 1 px). */
export const blurRadius = (p: Picture) => Math.max(1, Math.round(Math.min(p.width, p.height) / 10));

/** Everything a view shows for one model: the map, the image's and the fill's scores, the curves. */
export async function computeSaliency(
  p: Picture,
  frame: Frame,
  spec: SaliencySpec,
  score: Scorer,
  run: PassOptions = {},
): Promise<SaliencyOutcome> {
  const fill =
    spec.fill === 'blur'
      ? blurFill(p, blurRadius(p))
      : spec.fill === 'zero'
        ? { ...p, data: new Float32Array(p.data.length) }
        : meanFill(p, frame);
  let done = 0;
  const report = (k: number) => {
    done += k;
    run.onProgress?.(done);
  };
  /** Each stage counts its own passes from 0: the job's progress is their running total. */
  const stage = (): PassOptions => {
    let before = 0;
    return {
      batch: run.batch,
      stopped: run.stopped,
      onProgress: (k) => {
        report(k - before);
        before = k;
      },
    };
  };
  if (run.stopped?.()) throw new SaliencyStopped();
  const [base, filled] = await score([p.data, fill.data]);
  report(2);
  const map =
    spec.method.kind === 'rise'
      ? (await riseSaliency(p, fill, frame, spec.method.rise, score, stage())).map
      : await occlusionSaliency(p, fill, frame, spec.method.occlusion, base, score, stage());
  const curves =
    spec.steps > 0 ? await deletionInsertion(p, fill, frame, map, spec.steps, { base, filled }, score, stage()) : null;
  return { map, width: p.width, height: p.height, base, filled, curves, passes: done };
}

/** Masks → masked pictures → scores, `batch` at a time; `use(mask, score)` in mask order. */
async function inBatches(
  masks: Iterator<Float32Array>,
  total: number,
  p: Picture,
  fill: Picture,
  score: Scorer,
  run: PassOptions,
  use: (mask: Float32Array, score: number) => void,
): Promise<void> {
  const size = Math.max(1, run.batch ?? 1);
  let done = 0;
  while (done < total) {
    if (run.stopped?.()) throw new SaliencyStopped();
    const group: Float32Array[] = [];
    for (let k = 0; k < size && done + k < total; k++) {
      const next = masks.next();
      if (next.done) break;
      group.push(next.value);
    }
    if (!group.length) break;
    const pictures = group.map((m) => blend(p, fill, m, new Float32Array(p.data.length)));
    const scores = await score(pictures);
    if (scores.length !== group.length)
      throw new Error(`the scorer answered ${scores.length} scores for ${group.length} pictures`);
    for (const [k, m] of group.entries()) use(m, scores[k]);
    done += group.length;
    run.onProgress?.(done);
  }
}

// ---- reading a map ----

/** The highest value of a map on the image (padding excluded; NaN skipped), with its input pixel. */
export function saliencyPeak(map: Float32Array, frame: Frame): { u: number; v: number; value: number } | null {
  const w = frame.ux.length;
  const on = imagePixels(frame);
  let best = -1;
  for (let i = 0; i < map.length; i++) if (on[i] && !Number.isNaN(map[i]) && (best < 0 || map[i] > map[best])) best = i;
  return best < 0 ? null : { u: best % w, v: Math.floor(best / w), value: map[best] };
}

/** The share of a map's positive mass inside a region (1 per pixel inside), e.g. a quadrant: 0..1, NaN if none. */
export function positiveMassShare(map: Float32Array, region: ArrayLike<number>): number {
  let inside = 0;
  let all = 0;
  for (let i = 0; i < map.length; i++) {
    if (!(map[i] > 0)) continue; // negative and NaN cells carry no positive mass
    all += map[i];
    if (region[i]) inside += map[i];
  }
  return all > 0 ? inside / all : NaN;
}

/** A ground-truth region in image pixels: its box, and its mask (over the whole image, at any resolution) when it has one. */
export interface TruthRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  mask?: { data: Uint8Array; width: number; height: number };
}

/**
 * The pointing game (Zhang et al.): is the map's maximum, a point of the width×height image, inside one of the
 * regions of the target's class — in its mask when it has one, else in its box — within `tolerance` image
 * pixels? Null when there is no region to point at.
 */
export function pointingGame(
  point: { x: number; y: number },
  regions: TruthRegion[],
  image: { width: number; height: number },
  tolerance = 0,
): boolean | null {
  if (!regions.length) return null;
  const t = tolerance;
  return regions.some((r) => {
    if (point.x < r.x0 - t || point.x > r.x1 + t || point.y < r.y0 - t || point.y > r.y1 + t) return false;
    if (!r.mask) return true;
    const { data, width, height } = r.mask;
    const sx = width / image.width;
    const sy = height / image.height;
    const [px, py] = [point.x * sx, point.y * sy];
    const [ix, iy] = [Math.floor(px), Math.floor(py)];
    if (t <= 0) return ix >= 0 && iy >= 0 && ix < width && iy < height && data[iy * width + ix] > 0;
    // a mask pixel whose centre lies within t (+ half a pixel) of the point, in image pixels
    const [rx, ry] = [Math.ceil(t * sx), Math.ceil(t * sy)];
    for (let y = Math.max(0, iy - ry); y <= Math.min(height - 1, iy + ry); y++)
      for (let x = Math.max(0, ix - rx); x <= Math.min(width - 1, ix + rx); x++)
        if (data[y * width + x] && ((x + 0.5 - px) / sx) ** 2 + ((y + 0.5 - py) / sy) ** 2 <= (t + 0.5) ** 2)
          return true;
    return false;
  });
}
