/** What a model's contract lets the compare view show, and turning raw outputs into that (pure). */
import type { Contract } from '../contract';
import { decodeQueries, type Detection } from '../analysis/boxes';
import { argmaxClasses } from '../analysis/segmentation';
import type { TensorPayload } from './protocol';

export type TaskView =
  | { kind: 'segmentation'; logits: string }
  | { kind: 'detection'; logits: string; boxes: string; labels: number[] }
  | { kind: 'none'; reason: string };

/** Ask the contract, never the names: segmentation logits, else a one-to-one query block. */
export function taskView(c: Contract): TaskView {
  const seg = c.outputs.find((o) => o.role === 'segmentation_logits');
  if (seg) return { kind: 'segmentation', logits: seg.name };
  const logits = c.outputs.find((o) => o.role === 'box_logits' && o.block === 'one_to_one');
  const boxes = c.outputs.find((o) => o.role === 'boxes' && o.block === 'one_to_one' && o.box_format === 'cxcywh_normalized');
  if (logits && boxes) return { kind: 'detection', logits: logits.name, boxes: boxes.name, labels: logits.labels ?? [] };
  return { kind: 'none', reason: 'its contract declares no segmentation_logits and no one-to-one box block' };
}

export const taskOutputs = (v: TaskView): string[] =>
  v.kind === 'segmentation' ? [v.logits] : v.kind === 'detection' ? [v.logits, v.boxes] : [];

export type TaskResult =
  | { kind: 'segmentation'; classMap: Uint8Array; width: number; height: number }
  | { kind: 'detection'; detections: Detection[] }
  | { kind: 'none' };

/** Raw outputs → class map at model resolution, or detections in image pixels (stretch geometry). */
export function interpret(v: TaskView, outputs: Record<string, TensorPayload>, imageWidth: number, imageHeight: number,
  threshold: number): TaskResult {
  if (v.kind === 'segmentation') {
    const { data, dims } = outputs[v.logits];
    return { kind: 'segmentation', classMap: argmaxClasses(data, dims[1], dims[2], dims[3]), width: dims[3], height: dims[2] };
  }
  if (v.kind === 'detection') {
    const l = outputs[v.logits];
    return { kind: 'detection', detections: decodeQueries(l.data, outputs[v.boxes].data, l.dims[1], v.labels, imageWidth, imageHeight, threshold) };
  }
  return { kind: 'none' };
}
