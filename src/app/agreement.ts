/**
 * Role-aware numbers under the panes (pure): every model against the teacher (the first teacher in view, else
 * the first model), and detectors against ground truth when there is some. "0 matched" never reads as 100 %.
 */
import { type BoxPair, boxAgreement, boxConfusion, type Detection } from '../analysis/boxes';
import { uniformPlacement } from '../analysis/geometry';
import type { GtObject } from '../analysis/groundTruth';
import { maskAgreement } from '../analysis/segmentation';
import type { Contract } from '../contract';
import type { Comparison } from '../evaluate/results';
import { type ClassMap, readOnImage, type TaskResult } from './task';

export interface AgreementRow {
  model: string;
  against: string;
  /** The headline number in [0, 1], or null when there is nothing to measure (then `text` says why). */
  value: number | null;
  text: string;
  /** The numbers behind the text, as a data-set run records them (absent: the tasks differ). */
  comparison?: Comparison;
  /** Masks: the compared pixels' class pairs (see MaskAgreement.confusion), pooled over a data set. */
  confusion?: { classes: number; counts: Float64Array };
  /** Boxes: their class pairs, matched whatever the class (boxConfusion), pooled over a data set. */
  boxPairs?: BoxPair[];
}

/** Ground truth of one image: boxes for detectors, a class map at image pixels for segmenters (either may lack). */
export interface ImageTruth {
  label: string;
  objects: GtObject[] | null;
  classMap?: Uint8Array | null;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** Largest value of a class map (a loop: spreading millions of pixels into Math.max overflows the stack). */
function largest(values: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

/**
 * Mask agreement of two class maps over the same image, where they can be compared (readOnImage: at model
 * resolution when both models saw the image in the same frame, else at image points).
 */
export function maskAgreementOnImage(
  reference: ClassMap,
  other: ClassMap,
  classes: number,
  width: number,
  height: number,
) {
  const [a, b] = readOnImage([reference, other], width, height).classes;
  return maskAgreement(a, b, classes); // points outside a map read NO_CLASS, which it does not compare
}

export function boxAgreementText(
  reference: Detection[] | GtObject[],
  other: Detection[],
  against: string,
): { value: number | null; text: string; comparison: Comparison } {
  const refs = reference.map((r, i) => ({ score: 1, query: i, ...r }));
  const f = boxAgreement(refs, other, 0.5);
  const nothing = !reference.length && !other.length;
  const comparison: Comparison = {
    against,
    metric: 'box_f1',
    value: nothing ? null : f.f1,
    precision: f.precision,
    recall: f.recall,
    matched: f.matched,
    predicted: other.length,
    reference_count: reference.length,
  };
  if (nothing)
    return {
      value: null,
      text: `nothing to compare: neither this model nor ${against} has a box above its threshold on this image`,
      comparison,
    };
  return {
    value: f.f1,
    text: `box F1 @ IoU 0.5 ${pct(f.f1)} (${f.matched} of ${other.length} box${other.length === 1 ? '' : 'es'} matched, ${reference.length} in ${against}; precision ${pct(f.precision)}, recall ${pct(f.recall)})`,
    comparison,
  };
}

/** A box comparison of `model`'s detections against `against`'s (a reference model's, or ground truth). */
function boxRow(model: string, against: string, reference: Detection[] | GtObject[], other: Detection[]): AgreementRow {
  const t = boxAgreementText(reference, other, against);
  return {
    model,
    against,
    value: t.value,
    text: `${model} against ${against}: ${t.text}`,
    comparison: t.comparison,
    boxPairs: boxConfusion(reference, other),
  };
}

/** A mask comparison of `model` against `against` (value null when no class but background is in either map). */
function maskRow(model: string, against: string, a: ReturnType<typeof maskAgreement>): AgreementRow {
  const nothing = a.iou.every((v, k) => k === 0 || v === null);
  const comparison: Comparison = {
    against,
    metric: 'mask_miou',
    value: nothing ? null : a.miou,
    pixel_agreement: a.pixelAgreement,
  };
  const confusion = { classes: a.iou.length, counts: a.confusion };
  return nothing
    ? {
        model,
        against,
        value: null,
        text: `nothing to compare: neither ${model} nor ${against} finds a part on this image (pixel agreement ${pct(a.pixelAgreement)})`,
        comparison,
        confusion,
      }
    : {
        model,
        against,
        value: a.miou,
        text: `mask mIoU of ${model} against ${against}: ${pct(a.miou)} (pixel agreement ${pct(a.pixelAgreement)})`,
        comparison,
        confusion,
      };
}

export function computeAgreements(
  models: { id: string; contract: Contract; result: TaskResult | null }[],
  width: number,
  height: number,
  truth: ImageTruth | null,
): AgreementRow[] {
  const ready = models.filter((m) => m.result && m.result.kind !== 'none');
  if (!ready.length) return [];
  const reference = ready.find((m) => m.contract.model.role === 'teacher') ?? ready[0];
  const rows: AgreementRow[] = [];
  for (const m of ready) {
    if (m === reference) continue;
    const ra = reference.result!;
    const rb = m.result!;
    if (ra.kind === 'segmentation' && rb.kind === 'segmentation') {
      const classes = Math.max(reference.contract.classes.length, m.contract.classes.length);
      rows.push(maskRow(m.id, reference.id, maskAgreementOnImage(ra, rb, classes, width, height)));
    } else if (ra.kind === 'detection' && rb.kind === 'detection') {
      rows.push(boxRow(m.id, reference.id, ra.detections, rb.detections));
    } else {
      rows.push({
        model: m.id,
        against: reference.id,
        value: null,
        text: `${m.id} and ${reference.id} have different tasks (${rb.kind} vs ${ra.kind}): no agreement number`,
      });
    }
  }
  if (truth) {
    const truthMap: ClassMap | null = truth.classMap
      ? { classMap: truth.classMap, width, height, placement: uniformPlacement(width, height) }
      : null;
    for (const m of ready) {
      const r = m.result!;
      if (r.kind === 'detection' && truth.objects) {
        rows.push(boxRow(m.id, truth.label, truth.objects, r.detections));
      } else if (r.kind === 'segmentation' && truthMap) {
        const classes = Math.max(m.contract.classes.length, largest(truthMap.classMap) + 1);
        rows.push(maskRow(m.id, truth.label, maskAgreementOnImage(truthMap, r, classes, width, height)));
      }
    }
  }
  return rows;
}
