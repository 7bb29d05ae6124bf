/** Attention math for the method views (pure): CBAM/AttnFD site comparison. */
import { finiteRange } from './finiteness';

/** AttnFD's per-site term ‖t/‖t‖ − s/‖s‖‖² (= 2 − 2·cos, in [0, 4]) and the cosine, over equal-length maps. */
export function attnfdDistance(t: Float32Array, s: Float32Array): { distance: number; cosine: number } {
  if (t.length !== s.length)
    throw new Error(`maps differ in size (${t.length} vs ${s.length}): compare at equal width`);
  let tt = 0;
  let ss = 0;
  let ts = 0;
  for (let i = 0; i < t.length; i++) {
    tt += t[i] * t[i];
    ss += s[i] * s[i];
    ts += t[i] * s[i];
  }
  const cosine = tt > 0 && ss > 0 ? ts / Math.sqrt(tt * ss) : 0;
  return { distance: 2 - 2 * cosine, cosine };
}

/** Width-free summary of a refined map [C, h, w]: mean over channels of x² → [h, w] (attention-transfer style). */
export function energyMap(refined: Float32Array, channels: number): Float32Array {
  const n = refined.length / channels;
  const out = new Float32Array(n);
  for (let c = 0; c < channels; c++) for (let i = 0; i < n; i++) out[i] += refined[c * n + i] ** 2 / channels;
  return out;
}

/** The k largest channel-gate values, largest first, with their channel indices. */
export function topChannels(gate: Float32Array, k: number): { channel: number; value: number }[] {
  // NaN has no rank (and would make the comparator inconsistent): only finite gates are ranked.
  return Array.from(gate, (value, channel) => ({ channel, value }))
    .filter((c) => Number.isFinite(c.value))
    .sort((a, b) => b.value - a.value || a.channel - b.channel)
    .slice(0, k);
}

/** Smallest and largest finite value ([0, 0] when none): NaN and ±Infinity never stretch a colour scale. */
export const range = (values: Float32Array): [number, number] => finiteRange(values);

/** DINO's rule for one head's CLS row [N]: the smallest set of keys holding `mass` of the attention. */
export function dinoMassMask(row: Float32Array, mass: number): Uint8Array {
  let total = 0;
  for (const v of row) total += v;
  const order = Array.from(row.keys()).sort((a, b) => row[a] - row[b] || a - b);
  const keep = new Uint8Array(row.length);
  let cum = 0;
  for (const i of order) {
    cum += row[i] / total;
    if (cum > 1 - mass) keep[i] = 1;
  }
  return keep;
}

/** CST's rule: head-mean cosine [heads, N] → (c + 1) / 2 per key, kept where above `score`. */
export function cstScoreMask(
  cosine: Float32Array,
  heads: number,
  score: number,
): { scores: Float32Array; mask: Uint8Array } {
  const n = cosine.length / heads;
  const scores = new Float32Array(n);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) scores[i] += cosine[h * n + i] / heads;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = (scores[i] + 1) / 2;
    mask[i] = scores[i] > score ? 1 : 0;
  }
  return { scores, mask };
}

/** Mean over heads of rows [heads, N] → [N]. */
export function headMean(rows: Float32Array, heads: number): Float32Array {
  const n = rows.length / heads;
  const out = new Float32Array(n);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out[i] += rows[h * n + i] / heads;
  return out;
}

/** IoU of a patch-grid mask (nearest-upsampled by `patch`) against a pixel mask of gh·patch × gw·patch. */
export function patchMaskIoU(
  patchMask: Uint8Array,
  gw: number,
  patch: number,
  pixels: Uint8Array,
  width: number,
): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < pixels.length; i++) {
    const x = i % width;
    const y = (i - x) / width;
    const a = patchMask[Math.floor(y / patch) * gw + Math.floor(x / patch)] > 0;
    const b = pixels[i] > 0;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union ? inter / union : 1;
}

/** Mean attention each key receives from all queries, per head: [H, N, N] → [H][N] (rows sum to 1). */
export function keyAttentionPerHead(attn: Float32Array, heads: number, n: number): Float32Array[] {
  return Array.from({ length: heads }, (_, h) => {
    const out = new Float32Array(n);
    const base = h * n * n;
    for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) out[k] += attn[base + q * n + k] / n;
    return out;
  });
}

/** Cells of a gh×gw grid covered by any box (pixel corners in a width×height image): KS-DETR's fg mask. */
export function boxMaskOnGrid(
  boxes: { x0: number; y0: number; x1: number; y1: number }[],
  width: number,
  height: number,
  gh: number,
  gw: number,
): Uint8Array {
  const m = new Uint8Array(gh * gw);
  for (const b of boxes) {
    const x0 = Math.max(0, Math.floor((b.x0 / width) * gw));
    const x1 = Math.min(gw, Math.ceil((b.x1 / width) * gw));
    const y0 = Math.max(0, Math.floor((b.y0 / height) * gh));
    const y1 = Math.min(gh, Math.ceil((b.y1 / height) * gh));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * gw + x] = 1;
  }
  return m;
}

/** Share of an attention distribution's mass on the masked cells (over its finite cells: NaN has no mass). */
export function maskedShare(attention: Float32Array, mask: Uint8Array): number {
  let on = 0;
  let all = 0;
  for (let i = 0; i < attention.length; i++) {
    if (!Number.isFinite(attention[i])) continue;
    all += attention[i];
    if (mask[i]) on += attention[i];
  }
  return all > 0 ? on / all : 0;
}

/** Cosine per location between two channel-major maps [C, n] → [n] (SAK: student path vs teacher). */
export function perLocationCosine(a: Float32Array, b: Float32Array, channels: number): Float32Array {
  if (a.length !== b.length) throw new Error(`feature maps differ in size (${a.length} vs ${b.length})`);
  const n = a.length / channels;
  const dot = new Float64Array(n);
  const na = new Float64Array(n);
  const nb = new Float64Array(n);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < n; i++) {
      const x = a[c * n + i];
      const y = b[c * n + i];
      dot[i] += x * y;
      na[i] += x * x;
      nb[i] += y * y;
    }
  }
  return Float32Array.from(dot, (d, i) => (na[i] > 0 && nb[i] > 0 ? d / Math.sqrt(na[i] * nb[i]) : 0));
}

/** Token-major features [N, D] → channel-major [D, N]. */
export function tokensToChannels(tokens: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) out[c * n + i] = tokens[i * d + c];
  return out;
}
