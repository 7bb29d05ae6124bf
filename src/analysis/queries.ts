/**
 * DETR query and attention-row math for the attention views (pure): which query is under a click, which
 * query of another model answers to the same object, which grid cell is under a point, attention rows of a
 * token or a query, the foreground share per head, and the bilinear upsampling the contract names.
 */

import { maskedShare } from './attention';
import { type Box, type Detection, iou } from './boxes';
import type { Placement } from './geometry';

const area = (b: Box) => Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);

/**
 * The detection under a point (same frame as the boxes): among the boxes that contain it, the smallest
 * (so a box inside another stays clickable), then the higher score. Null when no box contains the point.
 */
export function detectionAt<D extends Detection>(detections: D[], x: number, y: number): D | null {
  let best: D | null = null;
  for (const d of detections) {
    if (x < d.x0 || x > d.x1 || y < d.y0 || y > d.y1) continue;
    if (!best || area(d) < area(best) || (area(d) === area(best) && d.score > best.score)) best = d;
  }
  return best;
}

export type MatchRule = 'same-query' | 'detection-iou' | 'query-iou' | 'nearest-centre';

export interface QueryMatch<D extends Detection = Detection> {
  detection: D;
  iou: number;
  rule: MatchRule;
}

/**
 * Another model's query for the object a target box shows. `queries` are all its queries (any score).
 * 1. a detection (score ≥ threshold) overlapping the target at IoU ≥ minIou — the highest IoU;
 * 2. else the query whose box overlaps the target most (any score);
 * 3. else the query whose box centre is nearest the target's centre.
 * Ties go to the higher score, then the lower query index. Null only when there are no queries.
 */
export function matchQuery<D extends Detection>(
  target: Box,
  queries: D[],
  threshold: number,
  minIou = 0.5,
): QueryMatch<D> | null {
  if (!queries.length) return null;
  const better = (a: D, va: number, b: D | null, vb: number) =>
    !b || va > vb || (va === vb && (a.score > b.score || (a.score === b.score && a.query < b.query)));
  let det: D | null = null;
  let detIou = -1;
  let any: D | null = null;
  let anyIou = -1;
  for (const q of queries) {
    const v = iou(target, q);
    if (q.score >= threshold && v >= minIou && better(q, v, det, detIou)) {
      det = q;
      detIou = v;
    }
    if (v > 0 && better(q, v, any, anyIou)) {
      any = q;
      anyIou = v;
    }
  }
  if (det) return { detection: det, iou: detIou, rule: 'detection-iou' };
  if (any) return { detection: any, iou: anyIou, rule: 'query-iou' };
  const cx = (target.x0 + target.x1) / 2;
  const cy = (target.y0 + target.y1) / 2;
  let near: D | null = null;
  let nearD = Infinity;
  for (const q of queries) {
    const d = Math.hypot((q.x0 + q.x1) / 2 - cx, (q.y0 + q.y1) / 2 - cy);
    if (better(q, -d, near, -nearD)) {
      near = q;
      nearD = d;
    }
  }
  return { detection: near!, iou: 0, rule: 'nearest-centre' };
}

/** How a match was made, in words for the view. */
export function describeMatch(m: QueryMatch): string {
  if (m.rule === 'same-query') return 'the query you clicked';
  if (m.rule === 'detection-iou') return `its detection on the same object (IoU ${m.iou.toFixed(2)})`;
  if (m.rule === 'query-iou')
    return `no detection above the threshold overlaps at IoU ≥ 0.5: its query box overlapping most (IoU ${m.iou.toFixed(2)}, score ${(100 * m.detection.score).toFixed(0)} %)`;
  return `no query box overlaps: its query with the nearest box centre (score ${(100 * m.detection.score).toFixed(0)} %)`;
}

/**
 * Row-major index of the cell of a `grid` = [rows, cols] feature grid (covering the model input) under an
 * image point; null off the image (which letterbox padding surrounds inside the input).
 */
export function gridCellAt(x: number, y: number, frame: Placement, grid: [number, number]): number | null {
  const u = x * frame.scaleX + frame.offsetX;
  const v = y * frame.scaleY + frame.offsetY;
  const inside = (a: number, offset: number, size: number) =>
    a >= Math.max(0, offset) && a < Math.min(size, size - offset);
  if (!inside(u, frame.offsetX, frame.inputWidth) || !inside(v, frame.offsetY, frame.inputHeight)) return null;
  const [rows, cols] = grid;
  const r = Math.min(rows - 1, Math.floor((v / frame.inputHeight) * rows));
  const c = Math.min(cols - 1, Math.floor((u / frame.inputWidth) * cols));
  return r * cols + c;
}

/** The image point at the centre of a grid cell (inverse of gridCellAt at cell centres). */
export function cellCentre(cell: number, frame: Placement, grid: [number, number]): [number, number] {
  const [rows, cols] = grid;
  const u = ((cell % cols) + 0.5) * (frame.inputWidth / cols);
  const v = (Math.floor(cell / cols) + 0.5) * (frame.inputHeight / rows);
  return [(u - frame.offsetX) / frame.scaleX, (v - frame.offsetY) / frame.scaleY];
}

/** Row `query` of a [1, Q, N] tensor (cross-attention of one query over the N keys). */
export function queryRow(data: Float32Array, queries: number, query: number): Float32Array {
  if (!Number.isInteger(query) || query < 0 || query >= queries)
    throw new Error(`query ${query} is not in 0..${queries - 1}`);
  const n = data.length / queries;
  return data.slice(query * n, (query + 1) * n);
}

/** Per head, the row of token `token` of a [1, H, N, N] self-attention: what that token attends to → [H][N]. */
export function tokenRows(attn: Float32Array, heads: number, n: number, token: number): Float32Array[] {
  if (!Number.isInteger(token) || token < 0 || token >= n) throw new Error(`token ${token} is not in 0..${n - 1}`);
  return Array.from({ length: heads }, (_, h) => attn.slice(h * n * n + token * n, h * n * n + (token + 1) * n));
}

/** Elementwise mean of equal-length rows. */
export function meanRow(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows[0]?.length ?? 0);
  for (const r of rows) for (let i = 0; i < out.length; i++) out[i] += r[i] / rows.length;
  return out;
}

/** Share of each row's mass on the mask (per head), and of the mean row's. */
export function foregroundShares(
  rows: Float32Array[],
  mean: Float32Array,
  mask: Uint8Array,
): { perHead: number[]; mean: number } {
  return { perHead: rows.map((r) => maskedShare(r, mask)), mean: maskedShare(mean, mask) };
}

/** Index and value of a map's largest entry (first on ties). */
export function peak(values: Float32Array): { index: number; value: number } {
  let index = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[index]) index = i;
  return { index, value: values[index] ?? NaN };
}

/**
 * Bilinear upsampling of a [h, w] map to [outH, outW]: half-pixel centres with edge clamping (PyTorch's
 * align_corners=False), or corner-aligned (align_corners=True).
 */
export function upsampleBilinear(
  map: Float32Array,
  h: number,
  w: number,
  outH: number,
  outW: number,
  alignCorners = false,
): Float32Array {
  const out = new Float32Array(outH * outW);
  const src = (o: number, nOut: number, nIn: number) => {
    if (alignCorners) return nOut > 1 ? (o * (nIn - 1)) / (nOut - 1) : 0;
    return Math.min(nIn - 1, Math.max(0, ((o + 0.5) * nIn) / nOut - 0.5));
  };
  for (let oy = 0; oy < outH; oy++) {
    const sy = src(oy, outH, h);
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let ox = 0; ox < outW; ox++) {
      const sx = src(ox, outW, w);
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
      out[oy * outW + ox] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
