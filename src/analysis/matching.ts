/**
 * DETR matching in the app (pure): H-DETR/Deformable cost (focal class, L1 on cxcywh, −GIoU) and the
 * Hungarian algorithm (shortest augmenting path), one-to-one or against ground truth repeated K times.
 */

export interface MatchWeights {
  cls: number;
  l1: number;
  giou: number;
}
export const DEFAULT_WEIGHTS: MatchWeights = { cls: 2, l1: 5, giou: 2 };

/** Minimum-cost assignment of a rows×cols matrix (row-major); returns [row, col] pairs, one per row or col. */
export function linearAssignment(cost: Float64Array | number[], rows: number, cols: number): [number, number][] {
  if (rows === 0 || cols === 0) return [];
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = (i: number, j: number) => (transposed ? cost[j * cols + i] : cost[i * cols + j]);
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) if (p[j]) pairs.push(transposed ? [j - 1, p[j] - 1] : [p[j] - 1, j - 1]);
  return pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

type CxCyWh = [number, number, number, number];
const corners = ([cx, cy, w, h]: CxCyWh) => [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];

export function giou(a: CxCyWh, b: CxCyWh): number {
  const [ax0, ay0, ax1, ay1] = corners(a);
  const [bx0, by0, bx1, by1] = corners(b);
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  const hull = (Math.max(ax1, bx1) - Math.min(ax0, bx0)) * (Math.max(ay1, by1) - Math.min(ay0, by0));
  const iou = union > 0 ? inter / union : 0;
  return hull > 0 ? iou - (hull - union) / hull : iou;
}

/**
 * Cost matrix [Q × G] (row-major) of queries (sigmoid logits [Q × C], boxes cxcywh [Q × 4]) against ground truth
 * (class indices into the logits' columns, boxes cxcywh normalised).
 */
export function matchingCost(
  logits: Float32Array,
  boxes: Float32Array,
  queries: number,
  classes: number,
  gtClass: number[],
  gtBoxes: CxCyWh[],
  w: MatchWeights,
  alpha = 0.25,
  gamma = 2,
): Float64Array {
  const g = gtClass.length;
  const cost = new Float64Array(queries * g);
  for (let q = 0; q < queries; q++) {
    const box = Array.from(boxes.subarray(q * 4, q * 4 + 4)) as CxCyWh;
    for (let j = 0; j < g; j++) {
      const pr = 1 / (1 + Math.exp(-logits[q * classes + gtClass[j]]));
      const pos = alpha * (1 - pr) ** gamma * -Math.log(pr + 1e-8);
      const neg = (1 - alpha) * pr ** gamma * -Math.log(1 - pr + 1e-8);
      const l1 = box.reduce((s, v, k) => s + Math.abs(v - gtBoxes[j][k]), 0);
      cost[q * g + j] = w.cls * (pos - neg) + w.l1 * l1 + w.giou * -giou(box, gtBoxes[j]);
    }
  }
  return cost;
}

/** One-to-many: ground truth repeated K times, matched one-to-one → [query, object] pairs (K per object). */
export function matchRepeated(cost: Float64Array, queries: number, objects: number, k: number): [number, number][] {
  const rep = new Float64Array(queries * objects * k);
  for (let q = 0; q < queries; q++)
    for (let r = 0; r < k; r++)
      for (let j = 0; j < objects; j++) rep[q * objects * k + r * objects + j] = cost[q * objects + j];
  return linearAssignment(rep, queries, objects * k).map(([q, c]) => [q, c % objects]);
}
