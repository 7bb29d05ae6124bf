/**
 * Role-aware numbers under the panes (pure): every model against the teacher (the first teacher in view, else
 * the first model), and detectors against ground truth when there is some. "0 matched" never reads as 100 %.
 */
import { boxAgreement, type Detection } from '../analysis/boxes';
import type { GtObject } from '../analysis/groundTruth';
import { maskAgreement } from '../analysis/segmentation';
import type { Contract } from '../contract';
import { type ClassMap, classAt, type TaskResult } from './task';

export interface AgreementRow {
  model: string;
  against: string;
  /** The headline number in [0, 1], or null when there is nothing to measure (then `text` says why). */
  value: number | null;
  text: string;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** Largest side of the grid of image points two class maps of different frames are compared on. */
const SAMPLE_SIDE = 320;

/**
 * Mask agreement of two class maps over the same image: at model resolution when both models saw the image
 * in the same frame, else at image points (each map read through its own placement).
 */
export function maskAgreementOnImage(
  reference: ClassMap,
  other: ClassMap,
  classes: number,
  width: number,
  height: number,
) {
  const sameFrame =
    reference.width === other.width &&
    reference.height === other.height &&
    JSON.stringify(reference.placement) === JSON.stringify(other.placement);
  if (sameFrame) return maskAgreement(reference.classMap, other.classMap, classes);
  const step = Math.max(1, Math.max(width, height) / SAMPLE_SIDE);
  const a: number[] = [];
  const b: number[] = [];
  for (let y = step / 2; y < height; y += step) {
    for (let x = step / 2; x < width; x += step) {
      const ka = classAt(reference, x, y);
      const kb = classAt(other, x, y);
      if (ka === null || kb === null) continue;
      a.push(ka);
      b.push(kb);
    }
  }
  return maskAgreement(Uint8Array.from(a), Uint8Array.from(b), classes);
}

export function boxAgreementText(
  reference: Detection[] | GtObject[],
  other: Detection[],
  against: string,
): { value: number | null; text: string } {
  if (!reference.length && !other.length)
    return {
      value: null,
      text: `nothing to compare: neither this model nor ${against} has a box above its threshold on this image`,
    };
  const refs = reference.map((r, i) => ({ score: 1, query: i, ...r }));
  const f = boxAgreement(refs, other, 0.5);
  return {
    value: f.f1,
    text: `box F1 @ IoU 0.5 ${pct(f.f1)} (${f.matched} of ${other.length} box${other.length === 1 ? '' : 'es'} matched, ${reference.length} in ${against}; precision ${pct(f.precision)}, recall ${pct(f.recall)})`,
  };
}

export function computeAgreements(
  models: { id: string; contract: Contract; result: TaskResult | null }[],
  width: number,
  height: number,
  truth: { label: string; objects: GtObject[] } | null,
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
      const a = maskAgreementOnImage(ra, rb, classes, width, height);
      if (a.iou.every((v, k) => k === 0 || v === null)) {
        rows.push({
          model: m.id,
          against: reference.id,
          value: null,
          text: `nothing to compare: neither ${m.id} nor ${reference.id} finds a part on this image (pixel agreement ${pct(a.pixelAgreement)})`,
        });
        continue;
      }
      rows.push({
        model: m.id,
        against: reference.id,
        value: a.miou,
        text: `mask mIoU of ${m.id} against ${reference.id}: ${pct(a.miou)} (pixel agreement ${pct(a.pixelAgreement)})`,
      });
    } else if (ra.kind === 'detection' && rb.kind === 'detection') {
      const t = boxAgreementText(ra.detections, rb.detections, reference.id);
      rows.push({
        model: m.id,
        against: reference.id,
        value: t.value,
        text: `${m.id} against ${reference.id}: ${t.text}`,
      });
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
    for (const m of ready) {
      const r = m.result!;
      if (r.kind !== 'detection') continue;
      const t = boxAgreementText(truth.objects, r.detections, truth.label);
      rows.push({
        model: m.id,
        against: truth.label,
        value: t.value,
        text: `${m.id} against ${truth.label}: ${t.text}`,
      });
    }
  }
  return rows;
}
