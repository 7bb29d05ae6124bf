/**
 * Where two models disagree on one image (pure): pixels whose class differs (segmentation) or boxes without a
 * match in the other model (detection, IoU 0.5, same class) — what the disagreement overlay draws.
 */
import { boxAgreement, type Detection } from '../analysis/boxes';
import type { Placement } from '../analysis/geometry';
import { NO_CLASS } from '../analysis/segmentation';
import { type ClassMap, classAt, type TaskResult } from './task';

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

const SAMPLE_SIDE = 320;

/** Class-map disagreement: at model resolution when both share a frame, else on a grid of image points. */
export function pixelDisagreement(a: ClassMap, b: ClassMap, width: number, height: number): Disagreement {
  const same =
    a.width === b.width && a.height === b.height && JSON.stringify(a.placement) === JSON.stringify(b.placement);
  let map: Uint8Array;
  let w: number;
  let h: number;
  let placement: Placement;
  const code = (x: number | null, y: number | null) =>
    x === null || y === null || x === NO_CLASS || y === NO_CLASS ? UNCOMPARED : x === y ? AGREE : DIFFER;
  if (same) {
    w = a.width;
    h = a.height;
    placement = a.placement;
    map = new Uint8Array(w * h);
    for (let i = 0; i < map.length; i++) map[i] = code(a.classMap[i], b.classMap[i]);
  } else {
    const step = Math.max(1, Math.max(width, height) / SAMPLE_SIDE);
    w = Math.ceil(width / step - 0.5);
    h = Math.ceil(height / step - 0.5);
    placement = { inputWidth: w, inputHeight: h, offsetX: 0, offsetY: 0, scaleX: 1 / step, scaleY: 1 / step };
    map = new Uint8Array(w * h);
    for (let j = 0; j < h; j++)
      for (let i = 0; i < w; i++) {
        const x = (i + 0.5) * step;
        const y = (j + 0.5) * step;
        map[j * w + i] = code(classAt(a, x, y), classAt(b, x, y));
      }
  }
  let differ = 0;
  let compared = 0;
  for (const v of map) {
    if (v !== UNCOMPARED) compared++;
    if (v === DIFFER) differ++;
  }
  return { kind: 'pixels', map, width: w, height: h, placement, differ, compared };
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
