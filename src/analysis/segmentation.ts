/** Segmentation analysis: logits → class map, and agreement between two class maps. */

/** Argmax over channels of NCHW logits [1, K, H, W] → class id per pixel. */
export function argmaxClasses(logits: Float32Array, classes: number, height: number, width: number): Uint8Array {
  const n = height * width;
  if (logits.length !== classes * n)
    throw new Error(`logits have ${logits.length} values, expected ${classes}x${height}x${width}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = logits[i];
    for (let k = 1; k < classes; k++) {
      const v = logits[k * n + i];
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

export interface MaskAgreement {
  /** Per-class IoU; null where the class is in neither map. */
  iou: (number | null)[];
  /** Mean over classes present in either map. */
  miou: number;
  pixelAgreement: number;
}

/** IoU of each class between a reference map (teacher) and another (student). */
export function maskAgreement(reference: Uint8Array, other: Uint8Array, classes: number): MaskAgreement {
  if (reference.length !== other.length) throw new Error('class maps differ in size');
  const inter = new Float64Array(classes);
  const refCount = new Float64Array(classes);
  const otherCount = new Float64Array(classes);
  let same = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = reference[i];
    const b = other[i];
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
    pixelAgreement: same / reference.length,
  };
}
