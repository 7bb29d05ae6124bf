/**
 * COCO box AP (AP@[.5:.95] and AP50) as pycocotools 2.x computes it — COCOeval(iouType='bbox') with default params,
 * evaluate(), accumulate(), summarize() stats[0] and stats[1] — ported line for line so the numbers are the same to
 * the last bit, not just close (tested against pycocotools in cocoAp.test.ts, fixtures from
 * ml/scripts/make_coco_ap_cases.py).
 *
 * Incremental: addImage() evaluates one image and keeps only what accumulate() needs (per kept detection its score
 * and two 10-bit masks), so a data set of any size costs a few numbers per detection and no boxes.
 *
 * Only the 'all' area range [0, 1e10] and maxDets 100 enter AP and AP50, so only they are computed.
 * pycocotools pools images in ascending image id (params.imgIds is sorted), which decides the order of detections
 * with equal scores on different images: addImage takes the image's COCO id for that (default: the order added).
 */

/** A ground-truth object of one image, COCO style: bbox [x, y, w, h] in pixels. */
export interface ApTruth {
  bbox: [number, number, number, number];
  category: number;
  crowd?: boolean;
  /** The annotation's area (COCO: the segmentation's, not the box's); w·h when missing. */
  area?: number;
}

/** A detection of one image: bbox [x, y, w, h] in pixels, its score and category. */
export interface ApDetection {
  bbox: [number, number, number, number];
  score: number;
  category: number;
}

/** null: no category with a non-ignored ground-truth object (pycocotools' −1). */
export interface BoxAp {
  ap: number | null;
  ap50: number | null;
}

/** np.linspace(start, stop, num): i·step + start, the last exactly stop — the same doubles as pycocotools'. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const step = (stop - start) / (num - 1);
  const values = new Float64Array(num);
  for (let i = 0; i < num; i++) values[i] = i * step + start;
  values[num - 1] = stop;
  return values;
}

/** Params.setDetParams: iouThrs .5:.05:.95, recThrs 0:.01:1. */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS = linspace(0, 1, 101);
const MAX_DETECTIONS = 100;
/** Area range 'all': [0 ** 2, 1e5 ** 2]. */
const AREA_MIN = 0;
const AREA_MAX = 1e10;
/** np.spacing(1): keeps precision defined before the first detection counts. */
const EPS = 2.220446049250313e-16;

/** What accumulate() needs of one (image, category) evaluation: evaluateImg's dtScores, dtMatches, dtIgnore, gtIgnore. */
interface CategoryEvaluation {
  /** The kept detections' scores, highest first (at most 100). */
  scores: Float64Array;
  /** Bit t: the detection matched a ground-truth object at IOU_THRESHOLDS[t]. */
  matched: Uint16Array;
  /** Bit t: the detection is ignored at IOU_THRESHOLDS[t] (matched a crowd or ignored object, or too large). */
  ignored: Uint16Array;
  /** Ground-truth objects that are not ignored. */
  truths: number;
}

/** maskApi.c bbIou for one pair: for a crowd object, intersection over the detection's own area. */
function boxIou(d: readonly number[], g: readonly number[], crowd: boolean): number {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const intersection = w * h;
  const detectionArea = d[2] * d[3];
  return intersection / (crowd ? detectionArea : detectionArea + g[2] * g[3] - intersection);
}

/** 0 … count − 1 in ascending order of key, ties in index order (np.argsort kind='mergesort'). */
function stableOrder(count: number, key: (i: number) => number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  // Explicit comparisons, not a difference: infinite scores would make it NaN.
  return order.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const outsideAreaRange = (area: number) => area < AREA_MIN || area > AREA_MAX;

/** COCOeval.computeIoU + evaluateImg for one image and one category (area 'all', maxDet 100); null: nothing there. */
function evaluateCategory(truth: readonly ApTruth[], detections: readonly ApDetection[]): CategoryEvaluation | null {
  if (!truth.length && !detections.length) return null;
  // _prepare sets ignore = iscrowd; evaluateImg adds objects outside the area range.
  const truthIgnored = truth.map((t) => !!t.crowd || outsideAreaRange(t.area ?? t.bbox[2] * t.bbox[3]));
  const truthOrder = stableOrder(truth.length, (g) => (truthIgnored[g] ? 1 : 0));
  const gts = truthOrder.map((g) => truth[g]);
  const gtIgnored = truthOrder.map((g) => truthIgnored[g]);
  const dts = stableOrder(detections.length, (d) => -detections[d].score)
    .slice(0, MAX_DETECTIONS)
    .map((d) => detections[d]);
  const matched = new Uint16Array(dts.length);
  const ignored = new Uint16Array(dts.length);
  if (gts.length && dts.length) {
    const ious = dts.map((d) => gts.map((g) => boxIou(d.bbox, g.bbox, !!g.crowd)));
    const gtMatched = new Uint8Array(gts.length);
    for (let t = 0; t < IOU_THRESHOLDS.length; t++) {
      gtMatched.fill(0);
      for (let d = 0; d < dts.length; d++) {
        let best = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < gts.length; g++) {
          // A matched object takes no second detection, except a crowd.
          if (gtMatched[g] && !gts[g].crowd) continue;
          // Matched to a regular object and only ignored ones are left (they sort last): stop.
          if (m > -1 && !gtIgnored[m] && gtIgnored[g]) break;
          if (ious[d][g] < best) continue;
          best = ious[d][g];
          m = g;
        }
        if (m === -1) continue;
        // pycocotools records the match as the object's id and later tests dtm == 0, so an object with id 0 never
        // counts as matched there; booleans here (the only difference, and only for annotation id 0).
        if (gtIgnored[m]) ignored[d] |= 1 << t;
        matched[d] |= 1 << t;
        gtMatched[m] = 1;
      }
    }
  }
  // Unmatched detections outside the area range are ignored (loadRes: a detection's area is w·h).
  const allThresholds = (1 << IOU_THRESHOLDS.length) - 1;
  dts.forEach((d, i) => {
    if (outsideAreaRange(d.bbox[2] * d.bbox[3])) ignored[i] |= ~matched[i] & allThresholds;
  });
  return {
    scores: Float64Array.from(dts, (d) => d.score),
    matched,
    ignored,
    truths: gtIgnored.filter((ig) => !ig).length,
  };
}

/**
 * COCOeval.accumulate for one category over its evaluations (in image order): precision at each recall threshold,
 * [t * R + r]; null where the category has no non-ignored object (pycocotools' −1).
 */
function categoryPrecision(evaluations: readonly CategoryEvaluation[]): Float64Array | null {
  if (!evaluations.length) return null;
  const truths = evaluations.reduce((n, e) => n + e.truths, 0);
  if (!truths) return null;
  const count = evaluations.reduce((n, e) => n + e.scores.length, 0);
  const scores = new Float64Array(count);
  const matched = new Uint16Array(count);
  const ignored = new Uint16Array(count);
  let at = 0;
  for (const e of evaluations) {
    scores.set(e.scores, at);
    matched.set(e.matched, at);
    ignored.set(e.ignored, at);
    at += e.scores.length;
  }
  const order = stableOrder(count, (i) => -scores[i]);
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const precision = new Float64Array(T * R);
  const recall = new Float64Array(count);
  const precisionAt = new Float64Array(count);
  for (let t = 0; t < T; t++) {
    const bit = 1 << t;
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < count; i++) {
      const d = order[i];
      if (!(ignored[d] & bit)) {
        if (matched[d] & bit) tp++;
        else fp++;
      }
      recall[i] = tp / truths;
      precisionAt[i] = tp / (fp + tp + EPS);
    }
    // The envelope: precision made non-increasing from the end.
    for (let i = count - 1; i > 0; i--) if (precisionAt[i] > precisionAt[i - 1]) precisionAt[i - 1] = precisionAt[i];
    // np.searchsorted(rc, recThrs, side='left'): the first detection reaching each recall; 0 past the last.
    let i = 0;
    for (let r = 0; r < R; r++) {
      while (i < count && recall[i] < RECALL_THRESHOLDS[r]) i++;
      precision[t * R + r] = i < count ? precisionAt[i] : 0;
    }
  }
  return precision;
}

/**
 * numpy's pairwise summation (add.reduce over a contiguous float64 array), so the mean below is np.mean's to the
 * last bit: blocks of up to 128 summed in 8 lanes, larger runs halved at a multiple of 8.
 */
function pairwiseSum(values: Float64Array, from: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[from + i];
    return sum;
  }
  if (n <= 128) {
    const lanes = Array.from(values.subarray(from, from + 8));
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) lanes[j] += values[from + i + j];
    // numpy's ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)): + groups left to right.
    let sum = lanes[0] + lanes[1] + (lanes[2] + lanes[3]) + (lanes[4] + lanes[5] + (lanes[6] + lanes[7]));
    for (; i < n; i++) sum += values[from + i];
    return sum;
  }
  const half = Math.floor(n / 2) - (Math.floor(n / 2) % 8);
  return pairwiseSum(values, from, half) + pairwiseSum(values, from + half, n - half);
}

/** summarize(): the mean of precision > −1 in numpy's [T, R, K] order, over all thresholds or the first (AP50). */
function summarise(precisions: readonly (Float64Array | null)[]): BoxAp {
  const kept = precisions.filter((p): p is Float64Array => p !== null);
  if (!kept.length) return { ap: null, ap50: null };
  const R = RECALL_THRESHOLDS.length;
  const mean = (thresholds: number) => {
    const values = new Float64Array(thresholds * R * kept.length);
    let at = 0;
    for (let t = 0; t < thresholds; t++) for (let r = 0; r < R; r++) for (const p of kept) values[at++] = p[t * R + r];
    return pairwiseSum(values, 0, values.length) / values.length;
  };
  return { ap: mean(IOU_THRESHOLDS.length), ap50: mean(1) };
}

/** COCO box AP accumulated image by image (memory: a few numbers per kept detection, no boxes kept). */
export class BoxApAccumulator {
  /** Category ids ascending (pycocotools: np.unique(sorted(getCatIds()))). */
  private readonly categories: number[];
  private readonly categoryIndex: Map<number, number>;
  /** Per category, its (image, category) evaluations in the order images were added. */
  private readonly evaluations: { order: number; evaluation: CategoryEvaluation }[][];
  private imageCount = 0;

  /** `categories`: the COCO file's category ids; objects and detections of any other category are left out. */
  constructor(categories: readonly number[]) {
    this.categories = [...new Set(categories)].sort((a, b) => a - b);
    this.categoryIndex = new Map(this.categories.map((c, k) => [c, k]));
    this.evaluations = this.categories.map(() => []);
  }

  /** Evaluates one image and keeps it for result(); returns this image's own AP (COCOeval with imgIds = [it]). */
  addImage(truth: readonly ApTruth[], detections: readonly ApDetection[], order = this.imageCount): BoxAp {
    const truthOf = this.categories.map((): ApTruth[] => []);
    const detectionsOf = this.categories.map((): ApDetection[] => []);
    for (const t of truth) {
      const k = this.categoryIndex.get(t.category);
      if (k !== undefined) truthOf[k].push(t);
    }
    for (const d of detections) {
      const k = this.categoryIndex.get(d.category);
      if (k !== undefined) detectionsOf[k].push(d);
    }
    this.imageCount++;
    const own = this.categories.map((_, k) => {
      const evaluation = evaluateCategory(truthOf[k], detectionsOf[k]);
      if (!evaluation) return null;
      this.evaluations[k].push({ order, evaluation });
      return categoryPrecision([evaluation]);
    });
    return summarise(own);
  }

  /** The pooled AP and AP50 over every image added: COCOeval.summarize() stats[0] and stats[1]. */
  result(): BoxAp {
    const byOrder = (list: { order: number; evaluation: CategoryEvaluation }[]) =>
      [...list].sort((a, b) => a.order - b.order).map((e) => e.evaluation);
    return summarise(this.evaluations.map((list) => categoryPrecision(byOrder(list))));
  }

  get images(): number {
    return this.imageCount;
  }
}
