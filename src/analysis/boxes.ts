/** Detection analysis: decode DETR query outputs, box IoU, and teacher↔student box agreement (F1 @ IoU). */

export interface Box {
  /** Corners in pixels of whatever frame the caller uses. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Detection extends Box {
  score: number;
  classId: number;
  query: number;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

/** How a query block's outputs are read (contract `activation` and `box_format`). */
export type Activation = 'sigmoid' | 'softmax';
export type BoxFormat = 'cxcywh_normalized' | 'xyxy_normalized' | 'xyxy_pixels';

export interface QueryDecoding {
  /** `sigmoid` (default): each label's logit on its own. `softmax`: over all of a query's columns. */
  activation?: Activation;
  /** Default `cxcywh_normalized`; `xyxy_pixels` are pixels of the model input (the width×height frame). */
  boxFormat?: BoxFormat;
  /** Logit columns per query: the labels', or one more with softmax (its last column is "no object"). */
  columns?: number;
}

/** A query's box as corners in pixels of the width×height model input, whatever the format. */
export function boxCorners(b: ArrayLike<number>, format: BoxFormat, width: number, height: number): Box {
  if (format === 'xyxy_pixels') return { x0: b[0], y0: b[1], x1: b[2], y1: b[3] };
  if (format === 'xyxy_normalized') return { x0: b[0] * width, y0: b[1] * height, x1: b[2] * width, y1: b[3] * height };
  const [cx, cy, w, h] = [b[0], b[1], b[2], b[3]];
  return { x0: (cx - w / 2) * width, y0: (cy - h / 2) * height, x1: (cx + w / 2) * width, y1: (cy + h / 2) * height };
}

/** A block's boxes [Q × 4] as normalised (cx, cy, w, h) of the width×height model input (what DETR losses use). */
export function toCxcywhNormalized(
  boxes: Float32Array,
  format: BoxFormat,
  width: number,
  height: number,
): Float32Array {
  if (format === 'cxcywh_normalized') return boxes;
  const out = new Float32Array(boxes.length);
  for (let q = 0; q < boxes.length / 4; q++) {
    const b = boxCorners(boxes.subarray(q * 4, q * 4 + 4), format, width, height);
    out.set(
      [(b.x0 + b.x1) / 2 / width, (b.y0 + b.y1) / 2 / height, (b.x1 - b.x0) / width, (b.y1 - b.y0) / height],
      q * 4,
    );
  }
  return out;
}

/** A row's largest value and Σ exp(v − max): softmax(v_k) = exp(v_k − max) / sum, without overflow. */
function softmaxTerms(row: Float32Array): { max: number; sum: number } {
  let max = row[0];
  for (let k = 1; k < row.length; k++) max = Math.max(max, row[k]);
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += Math.exp(row[k] - max);
  return { max, sum };
}

/**
 * DETR-style outputs of one query block → detections above `threshold`: per query its best label (largest
 * logit among the label columns; a softmax no-object column never wins), scored by the contract's activation
 * — sigmoid of that logit, or its softmax probability over all the query's columns, no-object included — and
 * its box as corners in pixels of a width×height frame (the model input).
 */
export function decodeQueries(
  logits: Float32Array,
  boxes: Float32Array,
  queries: number,
  labels: number[],
  width: number,
  height: number,
  threshold: number,
  decoding: QueryDecoding = {},
): Detection[] {
  const n = labels.length;
  const cols = decoding.columns ?? n;
  const softmax = decoding.activation === 'softmax';
  const format = decoding.boxFormat ?? 'cxcywh_normalized';
  const out: Detection[] = [];
  for (let q = 0; q < queries; q++) {
    const row = logits.subarray(q * cols, q * cols + cols);
    let best = 0;
    for (let k = 1; k < n; k++) if (row[k] > row[best]) best = k;
    let score: number;
    if (softmax) {
      const { max, sum } = softmaxTerms(row);
      score = Math.exp(row[best] - max) / sum;
    } else score = 1 / (1 + Math.exp(-row[best]));
    if (score < threshold) continue;
    out.push({
      ...boxCorners(boxes.subarray(q * 4, q * 4 + 4), format, width, height),
      score,
      classId: labels[best],
      query: q,
    });
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Agreement of `other` detections with `reference` ones: greedy by score, same class, IoU ≥ iouThreshold
 * (COCO-style). Returns precision, recall and F1 of `other` against `reference`, and the reference boxes found.
 */
export function boxAgreement(reference: Detection[], other: Detection[], iouThreshold = 0.5) {
  const used = new Set<number>();
  const kept: number[] = [];
  let matched = 0;
  const order = other.map((_, i) => i).sort((a, b) => other[b].score - other[a].score);
  for (const k of order) {
    const d = other[k];
    let best = -1;
    let bestIou = iouThreshold;
    reference.forEach((r, i) => {
      if (used.has(i) || r.classId !== d.classId) return;
      const v = iou(r, d);
      if (v >= bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0) {
      used.add(best);
      kept.push(k);
      matched++;
    }
  }
  const precision = other.length ? matched / other.length : reference.length ? 0 : 1;
  const recall = reference.length ? matched / reference.length : other.length ? 0 : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  /** Which reference boxes were matched, and which of `other` matched one (their indices). */
  const found = [...used].sort((a, b) => a - b);
  return { matched, precision, recall, f1, found, kept: kept.sort((a, b) => a - b) };
}

/** One cell of a box confusion: the class the reference gives, the class the model gives (null: no box there). */
export interface BoxPair {
  reference: number | null;
  model: number | null;
  count: number;
}

/**
 * Class confusion of `other` against `reference` boxes: matched whatever their class (greedy by score, the
 * unused reference box of highest IoU ≥ iouThreshold, as boxAgreement), each match counted at (reference
 * class, model class); a reference box no model box matches at (class, null), a model box that matches
 * none at (null, class). The detectors' counterpart of a pixel confusion matrix.
 */
export function boxConfusion(
  reference: (Box & { classId: number })[],
  other: Detection[],
  iouThreshold = 0.5,
): BoxPair[] {
  const used = new Set<number>();
  const counts = new Map<string, BoxPair>();
  const count = (ref: number | null, model: number | null) => {
    const key = `${ref}|${model}`;
    const cell = counts.get(key) ?? { reference: ref, model, count: 0 };
    cell.count++;
    counts.set(key, cell);
  };
  const order = other.map((_, i) => i).sort((a, b) => other[b].score - other[a].score);
  for (const k of order) {
    const d = other[k];
    let best = -1;
    let bestIou = iouThreshold;
    reference.forEach((r, i) => {
      if (used.has(i)) return;
      const v = iou(r, d);
      if (v >= bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0) used.add(best);
    count(best >= 0 ? reference[best].classId : null, d.classId);
  }
  reference.forEach((r, i) => {
    if (!used.has(i)) count(r.classId, null);
  });
  return [...counts.values()];
}

/**
 * Every (query, label) pair of a query block scored by the contract's activation, best first, the top `top`
 * (COCO AP keeps 100 per image), boxes as decodeQueries gives them. A pair whose score is not a number ranks
 * last; one whose box or score is not finite keeps its place in the top and is then left out (as the
 * Python evaluation).
 */
export function rankQueryLabels(
  logits: Float32Array,
  boxes: Float32Array,
  queries: number,
  labels: number[],
  width: number,
  height: number,
  top: number,
  decoding: QueryDecoding = {},
): Detection[] {
  const n = labels.length;
  const cols = decoding.columns ?? n;
  const format = decoding.boxFormat ?? 'cxcywh_normalized';
  const scores = new Float64Array(queries * n);
  for (let q = 0; q < queries; q++) {
    const row = logits.subarray(q * cols, q * cols + cols);
    if (decoding.activation === 'softmax') {
      const { max, sum } = softmaxTerms(row);
      for (let k = 0; k < n; k++) scores[q * n + k] = Math.exp(row[k] - max) / sum;
    } else for (let k = 0; k < n; k++) scores[q * n + k] = 1 / (1 + Math.exp(-row[k]));
  }
  const rank = (i: number) => (Number.isNaN(scores[i]) ? -1 : scores[i]);
  const order = Array.from(scores.keys()).sort((a, b) => rank(b) - rank(a));
  const out: Detection[] = [];
  for (const i of order.slice(0, top)) {
    const q = Math.floor(i / n);
    const box = boxCorners(boxes.subarray(q * 4, q * 4 + 4), format, width, height);
    if (rank(i) < 0 || !Number.isFinite(box.x0 + box.y0 + box.x1 + box.y1)) continue;
    out.push({ ...box, score: scores[i], classId: labels[i % n], query: q });
  }
  return out;
}
