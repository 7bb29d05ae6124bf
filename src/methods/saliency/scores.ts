/**
 * What a saliency map explains, as one number per model pass (pure): a class's probability for a
 * classifier, a class's mean probability or pixel share for a segmenter, and for a detector D-RISE's
 * similarity to a target detection (Petsiuk et al. 2021: IoU of the boxes × cosine of the class-probability
 * vectors, the best over the pass's proposals).
 */
import { type Box, type BoxFormat, boxCorners, iou } from '../../analysis/boxes';

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** A detection as D-RISE compares it: its box (model-input pixels) and its class-probability vector. */
export interface Proposal {
  box: Box;
  probs: Float32Array;
}

export type ScoreTarget =
  /** class_logits (softmax over the row) or multilabel_logits (sigmoid of one logit): entry `index`. */
  | { kind: 'class'; output: string; index: number; activation: 'softmax' | 'sigmoid' }
  /** segmentation_logits [1, K, H, W]: channel `channel`'s mean softmax probability, or its share of argmax pixels. */
  | { kind: 'segment'; output: string; channel: number; measure: 'probability' | 'area' }
  /** a one-to-one query block: similarity of the pass's best proposal to `box` + `probs` (D-RISE). */
  | {
      kind: 'detection';
      logits: string;
      boxes: string;
      activation: 'softmax' | 'sigmoid';
      boxFormat: BoxFormat;
      box: Box;
      probs: number[];
    };

/** The outputs a target reads. */
export const targetOutputs = (t: ScoreTarget): string[] => (t.kind === 'detection' ? [t.logits, t.boxes] : [t.output]);

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Softmax probability of entry `index` of a row (stable: the row's maximum subtracted). */
export function softmaxAt(row: ArrayLike<number>, index: number): number {
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) max = Math.max(max, row[k]);
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += Math.exp(row[k] - max);
  return Math.exp(row[index] - max) / sum;
}

export function classScore(logits: Float32Array, index: number, activation: 'softmax' | 'sigmoid'): number {
  return activation === 'softmax' ? softmaxAt(logits, index) : sigmoid(logits[index]);
}

/**
 * A segmenter's answer about one class over the pixels of the image (`inside`: 1 per logit cell on the image;
 * null: all): the mean of its softmax probability ('probability', smooth, what masks move a little), or the
 * share of cells whose argmax it is ('area', what the class map shows).
 */
export function segmentScore(
  logits: Float32Array,
  classes: number,
  height: number,
  width: number,
  channel: number,
  measure: 'probability' | 'area',
  inside: Uint8Array | null = null,
): number {
  const n = height * width;
  let total = 0;
  let cells = 0;
  for (let i = 0; i < n; i++) {
    if (inside && !inside[i]) continue;
    cells++;
    let max = -Infinity;
    let best = 0;
    for (let k = 0; k < classes; k++) {
      const v = logits[k * n + i];
      if (v > max) {
        max = v;
        best = k;
      }
    }
    if (measure === 'area') {
      total += best === channel ? 1 : 0;
      continue;
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[k * n + i] - max);
    total += Math.exp(logits[channel * n + i] - max) / sum;
  }
  return cells ? total / cells : NaN;
}

/**
 * Every query of a block as a proposal: its box in width×height input pixels and its class-probability
 * vector — softmax over all the query's columns (a no-object column included), or each label's sigmoid.
 */
export function proposalsOf(
  logits: Tensor,
  boxes: Tensor,
  activation: 'softmax' | 'sigmoid',
  boxFormat: BoxFormat,
  width: number,
  height: number,
): Proposal[] {
  const queries = logits.dims[1];
  const cols = logits.dims[2];
  const out: Proposal[] = [];
  for (let q = 0; q < queries; q++) {
    const row = logits.data.subarray(q * cols, (q + 1) * cols);
    const probs = new Float32Array(cols);
    if (activation === 'softmax') for (let k = 0; k < cols; k++) probs[k] = softmaxAt(row, k);
    else for (let k = 0; k < cols; k++) probs[k] = sigmoid(row[k]);
    out.push({ box: boxCorners(boxes.data.subarray(q * 4, q * 4 + 4), boxFormat, width, height), probs });
  }
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < Math.min(a.length, b.length); k++) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** D-RISE: the best, over a pass's proposals, of IoU(target box, proposal box) × cos(target probs, proposal probs). */
export function driseSimilarity(target: { box: Box; probs: ArrayLike<number> }, proposals: Proposal[]): number {
  let best = 0;
  for (const p of proposals) {
    const s = iou(target.box, p.box);
    if (s > 0) best = Math.max(best, s * cosine(target.probs, p.probs));
  }
  return best;
}

/** One pass's score for a target, from that pass's outputs (batch axis 1) on a width×height input. */
export function scoreOf(
  target: ScoreTarget,
  outputs: Record<string, Tensor>,
  input: { width: number; height: number; inside: (h: number, w: number) => Uint8Array | null },
): number {
  if (target.kind === 'class') return classScore(outputs[target.output].data, target.index, target.activation);
  if (target.kind === 'segment') {
    const t = outputs[target.output];
    const [, classes, h, w] = t.dims;
    return segmentScore(t.data, classes, h, w, target.channel, target.measure, input.inside(h, w));
  }
  const proposals = proposalsOf(
    outputs[target.logits],
    outputs[target.boxes],
    target.activation,
    target.boxFormat,
    input.width,
    input.height,
  );
  return driseSimilarity(target, proposals);
}
