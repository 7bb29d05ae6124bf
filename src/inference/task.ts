/** What a model's contract lets the compare view show, and turning raw outputs into that (pure). */
import type { Contract } from '../contract';
import { decodeQueries, type Detection } from '../analysis/boxes';
import { argmaxClasses } from '../analysis/segmentation';
import type { TensorPayload } from './protocol';
import { placement, toImage, type Placement } from './preprocess';
import { queryBlock } from './queries';

export type TaskView =
  | { kind: 'segmentation'; logits: string }
  | { kind: 'detection'; logits: string; boxes: string; labels: number[] }
  | { kind: 'none'; reason: string };

/** Ask the contract, never the names: segmentation logits, else a one-to-one query block. */
export function taskView(c: Contract): TaskView {
  const seg = c.outputs.find((o) => o.role === 'segmentation_logits');
  if (seg) return { kind: 'segmentation', logits: seg.name };
  const block = queryBlock(c, 'one_to_one');
  if (block) return { kind: 'detection', logits: block.logits.name, boxes: block.boxes.name, labels: block.logits.labels ?? [] };
  return { kind: 'none', reason: 'its contract declares no segmentation_logits and no one-to-one box block' };
}

export const taskOutputs = (v: TaskView): string[] =>
  v.kind === 'segmentation' ? [v.logits] : v.kind === 'detection' ? [v.logits, v.boxes] : [];

export type TaskResult =
  | { kind: 'segmentation'; classMap: Uint8Array; width: number; height: number; placement: Placement }
  | { kind: 'detection'; detections: Detection[] }
  | { kind: 'none' };

/**
 * Raw outputs → a class map at model-input resolution (with the placement that maps it onto the image),
 * or detections in original-image pixels — for stretch and letterbox alike.
 */
export function interpret(v: TaskView, contract: Contract, outputs: Record<string, TensorPayload>, imageWidth: number,
  imageHeight: number, threshold: number): TaskResult {
  const p = placement(imageWidth, imageHeight, contract.input);
  if (v.kind === 'segmentation') {
    const { data, dims } = outputs[v.logits];
    return { kind: 'segmentation', classMap: argmaxClasses(data, dims[1], dims[2], dims[3]), width: dims[3], height: dims[2], placement: p };
  }
  if (v.kind === 'detection') {
    const l = outputs[v.logits];
    const inInput = decodeQueries(l.data, outputs[v.boxes].data, l.dims[1], v.labels, p.inputWidth, p.inputHeight, threshold);
    return {
      kind: 'detection',
      detections: inInput.map((d) => {
        const [x0, y0] = toImage(p, d.x0, d.y0);
        const [x1, y1] = toImage(p, d.x1, d.y1);
        return { ...d, x0, y0, x1, y1 };
      }),
    };
  }
  return { kind: 'none' };
}

/** Class id under an image pixel, read from a class map through its placement (null outside the map). */
export function classAt(r: { classMap: Uint8Array; width: number; height: number; placement: Placement }, x: number, y: number): number | null {
  const u = Math.floor(x * r.placement.scaleX + r.placement.offsetX);
  const v = Math.floor(y * r.placement.scaleY + r.placement.offsetY);
  if (u < 0 || v < 0 || u >= r.width || v >= r.height) return null;
  return r.classMap[v * r.width + u];
}
