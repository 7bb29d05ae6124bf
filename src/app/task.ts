/** What a model's contract lets the panes show, and turning a run into that (pure). */
import type { Detection } from '../analysis/boxes';
import type { Placement } from '../analysis/geometry';
import { argmaxClasses, NO_CLASS, unclassified } from '../analysis/segmentation';
import type { Contract } from '../contract';
import { blockOutputs, blockQueries, queryBlock, recommendedThreshold } from '../methods/detr/contract';
import type { Run } from '../state/runs';

export type TaskView =
  | { kind: 'segmentation'; logits: string }
  | { kind: 'detection' }
  | { kind: 'none'; reason: string };

/** Ask the contract, never the names: segmentation logits, else a one-to-one query block. */
export function taskView(c: Contract): TaskView {
  const seg = c.outputs.find((o) => o.role === 'segmentation_logits');
  if (seg) return { kind: 'segmentation', logits: seg.name };
  if (queryBlock(c, 'one_to_one')) return { kind: 'detection' };
  return { kind: 'none', reason: 'its contract declares no segmentation_logits and no one-to-one box block' };
}

export const taskOutputs = (c: Contract): string[] => {
  const v = taskView(c);
  return v.kind === 'segmentation' ? [v.logits] : v.kind === 'detection' ? blockOutputs(c) : [];
};

export interface ClassMap {
  classMap: Uint8Array;
  width: number;
  height: number;
  placement: Placement;
}

export type TaskResult =
  | ({
      kind: 'segmentation' /** Pixels without a class (NaN logits), drawn in the no-value colour. */;
      unclassified?: number;
    } & ClassMap)
  | { kind: 'detection'; detections: Detection[]; threshold: number; thresholdFrom: 'contract' | 'default' | 'user' }
  | { kind: 'none'; reason: string };

/** The threshold a detector uses: the user's when set, else its contract's recommendation, else 0.5. */
export function detectionThreshold(
  c: Contract,
  user: number | null,
): { value: number; from: 'contract' | 'default' | 'user' } {
  if (user !== null) return { value: user, from: 'user' };
  const rec = recommendedThreshold(c);
  return rec === null ? { value: 0.5, from: 'default' } : { value: rec, from: 'contract' };
}

/**
 * A run → a class map at model-input resolution (with the run's placement that maps it onto the image), or
 * detections in the run's image pixels — for stretch and letterbox alike.
 */
export function interpret(contract: Contract, run: Run, userThreshold: number | null): TaskResult {
  const v = taskView(contract);
  if (v.kind === 'segmentation') {
    const t = run.outputs[v.logits];
    const reduced = run.classMaps?.[v.logits];
    if (!t && !reduced) return { kind: 'none', reason: `the run has no output ${v.logits}` };
    const [height, width] = reduced ? reduced.dims.slice(1) : t.dims.slice(2);
    const classMap = reduced ? reduced.data : argmaxClasses(t.data, t.dims[1], height, width);
    return {
      kind: 'segmentation',
      classMap,
      unclassified: unclassified(classMap),
      width,
      height,
      placement: run.placement,
    };
  }
  if (v.kind === 'detection') {
    const th = detectionThreshold(contract, userThreshold);
    return {
      kind: 'detection',
      // A box that is not a number cannot be drawn or compared (the pane reports the output's NaN count).
      detections: blockQueries(queryBlock(contract, 'one_to_one')!, run, th.value).filter(
        (d) => Number.isFinite(d.x0 + d.y0 + d.x1 + d.y1) && Number.isFinite(d.score),
      ),
      threshold: th.value,
      thresholdFrom: th.from,
    };
  }
  return v;
}

/** Class id under an image pixel, read from a class map through its placement (null outside the map). */
export function classAt(r: ClassMap, x: number, y: number): number | null {
  const u = Math.floor(x * r.placement.scaleX + r.placement.offsetX);
  const v = Math.floor(y * r.placement.scaleY + r.placement.offsetY);
  if (u < 0 || v < 0 || u >= r.width || v >= r.height) return null;
  return r.classMap[v * r.width + u];
}

/** Largest side of the grid of image points class maps of different frames are compared on. */
const SAMPLE_SIDE = 320;

/**
 * Several class maps over one width×height image, read where they can be compared: at model resolution when
 * they share a frame (their own cells, their placement), else at the centres of a grid of image points at most
 * SAMPLE_SIDE a side, each map read through its own placement (NO_CLASS where a point falls outside a map, as
 * where a pixel has no class: neither is compared). The points are accumulated as ml/attnlens_ml/results.py
 * accumulates them, so both read the same pixels.
 */
export function readOnImage(
  maps: ClassMap[],
  width: number,
  height: number,
): { width: number; height: number; placement: Placement; classes: Uint8Array[] } {
  const [first] = maps;
  const placed = JSON.stringify(first.placement);
  if (maps.every((m) => m.width === first.width && m.height === first.height && JSON.stringify(m.placement) === placed))
    return {
      width: first.width,
      height: first.height,
      placement: first.placement,
      classes: maps.map((m) => m.classMap),
    };
  const step = Math.max(1, Math.max(width, height) / SAMPLE_SIDE);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let x = step / 2; x < width; x += step) xs.push(x);
  for (let y = step / 2; y < height; y += step) ys.push(y);
  const classes = maps.map((m) => {
    const out = new Uint8Array(xs.length * ys.length);
    for (const [j, y] of ys.entries())
      for (const [i, x] of xs.entries()) out[j * xs.length + i] = classAt(m, x, y) ?? NO_CLASS;
    return out;
  });
  const placement = {
    inputWidth: xs.length,
    inputHeight: ys.length,
    offsetX: 0,
    offsetY: 0,
    scaleX: 1 / step,
    scaleY: 1 / step,
  };
  return { width: xs.length, height: ys.length, placement, classes };
}
