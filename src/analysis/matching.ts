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

/**
 * What the solver made of a cost matrix. Non-finite costs (NaN, ±Infinity: a query whose box or score is not a
 * number) are not refused but replaced by a penalty larger than any difference the finite costs can make, so
 * the assignment is the optimum over finite cells first and uses a penalised cell only where no finite one is
 * left (e.g. more objects than finite queries). Refusing would blank the whole view for one broken query;
 * keeping NaN in the matrix is what made the search below loop for ever (a NaN never compares smaller).
 */
export interface Assignment {
  pairs: [number, number][];
  /** Cells that were NaN or infinite, and the rows that have any. */
  nonFinite: number;
  penalisedRows: number[];
  /** Pairs that sit on a penalised cell. */
  penalisedPairs: number;
}

/** Finite costs whose spread exceeds this are scaled into it (optimality is unchanged by a positive scale). */
const SPREAD_LIMIT = 1e6;
/** Work (rows × cols × min(rows, cols)) above which an assignment is refused as too slow for the page. */
export const MAX_ASSIGNMENT_WORK = 2e8;

/** The work an assignment costs, for callers that want to refuse (in words) before asking. */
export const assignmentWork = (rows: number, cols: number) => rows * cols * Math.min(rows, cols);

/**
 * The cost matrix made safe for the solver: shifted to start at 0, scaled when its spread is huge (1e300 − −1e300
 * overflows), every non-finite cell set to a penalty P > min(rows, cols) × spread, so one penalised cell costs
 * more than any set of finite ones (fewer penalised cells always wins).
 */
function sanitise(cost: ArrayLike<number>, rows: number, cols: number) {
  const n = rows * cols;
  let lo = Infinity;
  let hi = -Infinity;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const v = cost[i];
    if (v - v !== 0) bad++;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out = new Float64Array(n);
  const penalised = new Uint8Array(n);
  if (lo > hi) {
    // Nothing finite: every cell is the same penalty, so any assignment is as good as any other.
    penalised.fill(1);
    return { out, penalised, bad };
  }
  const half = hi / 2 - lo / 2; // finite even where hi − lo overflows
  const s = half > SPREAD_LIMIT / 2 ? SPREAD_LIMIT / 2 / half : 1;
  const spread = s === 1 ? hi - lo : SPREAD_LIMIT;
  const penalty = (Math.min(rows, cols) + 1) * (spread + 1);
  for (let i = 0; i < n; i++) {
    const v = cost[i];
    if (v - v !== 0) {
      out[i] = penalty;
      penalised[i] = 1;
    } else out[i] = Math.min(spread, Math.max(0, s === 1 ? v - lo : v * s - lo * s));
  }
  return { out, penalised, bad };
}

/**
 * Minimum-cost assignment of a rows×cols matrix (row-major): [row, col] pairs, one per row or col, rows
 * ascending. Any numbers are accepted (see Assignment for NaN and ±Infinity); the search always ends: each
 * inner step marks one more column, and a step that finds none throws instead of spinning.
 */
export function assign(cost: ArrayLike<number>, rows: number, cols: number): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0)
    throw new RangeError(`a cost matrix of ${rows} × ${cols} is not a matrix`);
  if (cost.length < rows * cols)
    throw new RangeError(`the cost matrix has ${cost.length} values, ${rows} × ${cols} needs ${rows * cols}`);
  if (rows === 0 || cols === 0) return { pairs: [], nonFinite: 0, penalisedRows: [], penalisedPairs: 0 };
  const { out, penalised, bad } = sanitise(cost, rows, cols);
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = (i: number, j: number) => (transposed ? out[j * cols + i] : out[i * cols + j]);
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
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
      // Unreachable with the finite, bounded matrix above; a guard so that no input can spin here.
      if (j1 === 0 || !Number.isFinite(delta)) throw new Error('the assignment found no column to extend: not solved');
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
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const penalisedRows: number[] = [];
  if (bad)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        if (penalised[r * cols + c]) {
          penalisedRows.push(r);
          break;
        }
  return {
    pairs,
    nonFinite: bad,
    penalisedRows,
    penalisedPairs: bad ? pairs.filter(([r, c]) => penalised[r * cols + c]).length : 0,
  };
}

/** Minimum-cost assignment's pairs (see assign). */
export const linearAssignment = (cost: ArrayLike<number>, rows: number, cols: number): [number, number][] =>
  assign(cost, rows, cols).pairs;

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
  for (const c of gtClass)
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`ground-truth class column ${c} is outside the model's ${classes} logit columns`);
  if (logits.length < queries * classes || boxes.length < queries * 4)
    throw new RangeError(`the query outputs are shorter than ${queries} queries × ${classes} classes`);
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
export function assignRepeated(cost: Float64Array, queries: number, objects: number, k: number): Assignment {
  const rep = new Float64Array(queries * objects * k);
  for (let q = 0; q < queries; q++)
    for (let r = 0; r < k; r++)
      for (let j = 0; j < objects; j++) rep[q * objects * k + r * objects + j] = cost[q * objects + j];
  const a = assign(rep, queries, objects * k);
  return { ...a, nonFinite: a.nonFinite / k, pairs: a.pairs.map(([q, c]) => [q, c % objects]) };
}

export const matchRepeated = (cost: Float64Array, queries: number, objects: number, k: number): [number, number][] =>
  assignRepeated(cost, queries, objects, k).pairs;
