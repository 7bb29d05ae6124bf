/** Segmentation analysis: logits → class map, and agreement between two class maps. */

/**
 * A pixel with no class: one of its logits is NaN, so no argmax exists (NaN compares false with everything,
 * and a plain argmax would silently call it class 0 — or whichever class came first). Drawn and counted apart.
 */
export const NO_CLASS = 255;

/** Argmax over channels of NCHW logits [1, K, H, W] → class id per pixel (NO_CLASS where a logit is NaN). */
export function argmaxClasses(logits: Float32Array, classes: number, height: number, width: number): Uint8Array {
  const n = height * width;
  if (logits.length !== classes * n)
    throw new Error(`logits have ${logits.length} values, expected ${classes}x${height}x${width}`);
  if (classes >= NO_CLASS) throw new Error(`${classes} classes: a class map holds at most ${NO_CLASS - 1}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = logits[i];
    let nan = Number.isNaN(bestV);
    for (let k = 1; k < classes; k++) {
      const v = logits[k * n + i];
      if (v > bestV) {
        bestV = v;
        best = k;
      } else if (Number.isNaN(v)) nan = true;
    }
    out[i] = nan ? NO_CLASS : best;
  }
  return out;
}

/** Pixels of a class map without a class (NaN logits). */
export function unclassified(classMap: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < classMap.length; i++) if (classMap[i] === NO_CLASS) n++;
  return n;
}

export interface MaskAgreement {
  /** Per-class IoU; null where the class is in neither map. */
  iou: (number | null)[];
  /** Mean over classes present in either map. */
  miou: number;
  pixelAgreement: number;
  /** confusion[i·classes + j]: compared pixels the reference calls class i and the other class j. */
  confusion: Float64Array;
}

/** IoU of each class between a reference map (teacher) and another (student). */
export function maskAgreement(reference: Uint8Array, other: Uint8Array, classes: number): MaskAgreement {
  if (reference.length !== other.length) throw new Error('class maps differ in size');
  const inter = new Float64Array(classes);
  const refCount = new Float64Array(classes);
  const otherCount = new Float64Array(classes);
  const confusion = new Float64Array(classes * classes);
  let same = 0;
  let compared = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i];
    const b = other[i];
    // A pixel without a class in either map (NaN logits) is no evidence of agreement or of disagreement.
    if (a >= classes || b >= classes) continue;
    compared++;
    confusion[a * classes + b]++;
    refCount[a]++;
    otherCount[b]++;
    if (a === b) {
      inter[a]++;
      same++;
    }
  }
  const iou = Array.from(inter, (v, k) => {
    const union = refCount[k] + otherCount[k] - v;
    return union > 0 ? v / union : null;
  });
  const present = iou.filter((v): v is number => v !== null);
  return {
    iou,
    miou: present.reduce((a, b) => a + b, 0) / Math.max(present.length, 1),
    pixelAgreement: compared ? same / compared : 0,
    confusion,
  };
}
