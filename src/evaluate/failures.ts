/**
 * Failures against ground truth (pure): what only the reference model gets right, only the other model, or
 * neither — ground-truth objects found (box matched at IoU 0.5, same class) for detectors, compared pixels
 * classified right for segmenters. Counted per image; a data set sums them. Mirrors
 * ml/attnlens_ml/results.py failures().
 */
import { boxAgreement, type Detection } from '../analysis/boxes';
import type { Placement } from '../analysis/geometry';
import type { GtObject } from '../analysis/groundTruth';
import { NO_CLASS } from '../analysis/segmentation';
import { type ClassMap, readOnImage, type TaskResult } from '../app/task';

export interface Failures {
  unit: 'objects' | 'pixels';
  only_reference: number;
  only_model: number;
  neither: number;
  /** Objects or compared pixels in all. */
  total: number;
}

/** Ground-truth objects each detector finds: only the reference, only the model, neither. */
export function objectFailures(truth: GtObject[], reference: Detection[], model: Detection[]): Failures {
  const refs = truth.map((t, i) => ({ score: 1, query: i, ...t }));
  const a = new Set(boxAgreement(refs, reference, 0.5).found);
  const b = new Set(boxAgreement(refs, model, 0.5).found);
  const f: Failures = { unit: 'objects', only_reference: 0, only_model: 0, neither: 0, total: truth.length };
  truth.forEach((_, i) => {
    if (a.has(i) && !b.has(i)) f.only_reference++;
    else if (b.has(i) && !a.has(i)) f.only_model++;
    else if (!a.has(i) && !b.has(i)) f.neither++;
  });
  return f;
}

/**
 * Pixels of the ground-truth map each segmenter classifies right, where the three maps can be compared
 * (readOnImage: model resolution in one frame, else image points). Pixels without a class anywhere are skipped.
 */
export function pixelFailures(truth: ClassMap, reference: ClassMap, model: ClassMap, width: number, height: number) {
  const f: Failures = { unit: 'pixels', only_reference: 0, only_model: 0, neither: 0, total: 0 };
  const [t, a, b] = readOnImage([truth, reference, model], width, height).classes;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === NO_CLASS || a[i] === NO_CLASS || b[i] === NO_CLASS) continue;
    f.total++;
    if (a[i] === t[i] && b[i] !== t[i]) f.only_reference++;
    else if (b[i] === t[i] && a[i] !== t[i]) f.only_model++;
    else if (a[i] !== t[i] && b[i] !== t[i]) f.neither++;
  }
  return f;
}

/** The failures of `model` beside `reference` on one image, or null when the tasks or the truth do not allow. */
export function failuresOf(
  truth: { objects: GtObject[] | null; classMap?: Uint8Array | null },
  reference: TaskResult | null,
  model: TaskResult | null,
  width: number,
  height: number,
  identity: Placement,
): Failures | null {
  if (!reference || !model) return null;
  if (reference.kind === 'detection' && model.kind === 'detection' && truth.objects)
    return objectFailures(truth.objects, reference.detections, model.detections);
  if (reference.kind === 'segmentation' && model.kind === 'segmentation' && truth.classMap)
    return pixelFailures(
      { classMap: truth.classMap, width, height, placement: identity },
      reference,
      model,
      width,
      height,
    );
  return null;
}
