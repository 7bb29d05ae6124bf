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

/**
 * DETR-style outputs of one query block → detections above `threshold`: per query, its best class
 * (sigmoid), boxes from normalised (cx, cy, w, h) to pixels of a width×height frame.
 */
export function decodeQueries(
  logits: Float32Array,
  boxes: Float32Array,
  queries: number,
  labels: number[],
  width: number,
  height: number,
  threshold: number,
): Detection[] {
  const classes = labels.length;
  const out: Detection[] = [];
  for (let q = 0; q < queries; q++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[q * classes + k] > logits[q * classes + best]) best = k;
    const score = 1 / (1 + Math.exp(-logits[q * classes + best]));
    if (score < threshold) continue;
    const [cx, cy, w, h] = boxes.subarray(q * 4, q * 4 + 4);
    out.push({
      x0: (cx - w / 2) * width,
      y0: (cy - h / 2) * height,
      x1: (cx + w / 2) * width,
      y1: (cy + h / 2) * height,
      score,
      classId: labels[best],
      query: q,
    });
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Agreement of `other` detections with `reference` ones: greedy by score, same class, IoU ≥ iouThreshold
 * (COCO-style). Returns precision, recall and F1 of `other` against `reference`.
 */
export function boxAgreement(reference: Detection[], other: Detection[], iouThreshold = 0.5) {
  const used = new Set<number>();
  let matched = 0;
  for (const d of [...other].sort((a, b) => b.score - a.score)) {
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
      matched++;
    }
  }
  const precision = other.length ? matched / other.length : reference.length ? 0 : 1;
  const recall = reference.length ? matched / reference.length : other.length ? 0 : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { matched, precision, recall, f1 };
}
