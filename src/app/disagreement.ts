/**
 * Where two models disagree on one image (pure): pixels whose class differs (segmentation) or boxes without a
 * match in the other model (detection, IoU 0.5, same class) — what the disagreement overlay draws.
 */
import { boxAgreement, type Detection } from '../analysis/boxes';
import type { Placement } from '../analysis/geometry';
import { NO_CLASS } from '../analysis/segmentation';
import { type ClassMap, readOnImage, type TaskResult } from './task';

/** Values of a disagreement map. */
export const AGREE = 0;
export const DIFFER = 1;
export const UNCOMPARED = 2;

export type Disagreement =
  | {
      kind: 'pixels';
      /** AGREE / DIFFER / UNCOMPARED per cell, width×height, placed on the image by `placement`. */
      map: Uint8Array;
      width: number;
      height: number;
      placement: Placement;
      differ: number;
      compared: number;
    }
  | { kind: 'boxes'; onlyReference: Detection[]; onlyModel: Detection[] }
  | { kind: 'none'; reason: string };

/** Class-map disagreement where the two maps can be compared (readOnImage: model resolution, else image points). */
export function pixelDisagreement(a: ClassMap, b: ClassMap, width: number, height: number): Disagreement {
  const read = readOnImage([a, b], width, height);
  const [x, y] = read.classes;
  const map = new Uint8Array(x.length);
  let differ = 0;
  let compared = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === NO_CLASS || y[i] === NO_CLASS) map[i] = UNCOMPARED;
    else {
      compared++;
      map[i] = x[i] === y[i] ? AGREE : DIFFER;
      if (map[i] === DIFFER) differ++;
    }
  }
  return { kind: 'pixels', map, width: read.width, height: read.height, placement: read.placement, differ, compared };
}

/** What `model` sees differently from `reference` on this image. */
export function disagreementOf(
  reference: TaskResult | null,
  model: TaskResult | null,
  width: number,
  height: number,
): Disagreement {
  if (!reference || !model) return { kind: 'none', reason: 'waiting for both models to run' };
  if (reference.kind === 'segmentation' && model.kind === 'segmentation')
    return pixelDisagreement(reference, model, width, height);
  if (reference.kind === 'detection' && model.kind === 'detection') {
    const f = boxAgreement(reference.detections, model.detections, 0.5);
    const found = new Set(f.found);
    const kept = new Set(f.kept);
    return {
      kind: 'boxes',
      onlyReference: reference.detections.filter((_, i) => !found.has(i)),
      onlyModel: model.detections.filter((_, i) => !kept.has(i)),
    };
  }
  return { kind: 'none', reason: `the models have different tasks (${reference.kind} vs ${model.kind})` };
}
