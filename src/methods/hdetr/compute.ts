/** The H-DETR view model (pure): ground truth → the model's normalised input frame, cost matrix, assignment. */
import type { Box } from '../../analysis/boxes';
import { boxToImage, boxToInput } from '../../analysis/geometry';
import type { GtObject } from '../../analysis/groundTruth';
import { linearAssignment, matchingCost, matchRepeated } from '../../analysis/matching';
import type { Contract } from '../../contract';
import type { Run } from '../../state/runs';
import { type BlockName, queryBlock } from '../detr/contract';
import type { HdetrSettings } from './index';

export interface AssignmentModel {
  block: BlockName;
  queries: number;
  /** The block was trained with K copies (one-to-many blocks). */
  trainedK: number | null;
  /** Objects used (in image pixels) and those left out because the model has no such class. */
  objects: GtObject[];
  skipped: { count: number; classes: number[] };
  /** [query, object] pairs. */
  pairs: [number, number][];
  cost: Float64Array;
  /** Assigned queries' predicted boxes, in image pixels. */
  predicted: Map<number, Box>;
  assigned: number;
}

/** Object corners in image pixels → (cx, cy, w, h) normalised to the model input, the frame its boxes use. */
export function toModelCxcywh(b: Box, run: Pick<Run, 'placement'>): [number, number, number, number] {
  const p = run.placement;
  const i = boxToInput(p, b);
  return [
    (i.x0 + i.x1) / 2 / p.inputWidth,
    (i.y0 + i.y1) / 2 / p.inputHeight,
    (i.x1 - i.x0) / p.inputWidth,
    (i.y1 - i.y0) / p.inputHeight,
  ];
}

/** A normalised (cx, cy, w, h) in the model input → corners in image pixels. */
export function fromModelCxcywh(b: ArrayLike<number>, run: Pick<Run, 'placement'>): Box {
  const p = run.placement;
  const [cx, cy, w, h] = [b[0] * p.inputWidth, b[1] * p.inputHeight, b[2] * p.inputWidth, b[3] * p.inputHeight];
  return boxToImage(p, { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 });
}

export function computeAssignment(
  contract: Contract,
  run: Run,
  gt: GtObject[],
  settings: HdetrSettings,
): AssignmentModel | string {
  const block = (settings.mode === 'o2m' && queryBlock(contract, 'one_to_many')) || queryBlock(contract, 'one_to_one');
  if (!block) return 'its contract declares no one-to-one query block';
  const logits = run.outputs[block.logits.name];
  const boxes = run.outputs[block.boxes.name];
  if (!logits || !boxes) return 'the run has no query outputs';
  const labels = block.logits.labels ?? [];
  const known = gt.filter((g) => labels.includes(g.classId));
  const unknown = gt.filter((g) => !labels.includes(g.classId));
  const q = logits.dims[1];
  const c = logits.dims[2];
  const cost = matchingCost(
    logits.data,
    boxes.data,
    q,
    c,
    known.map((g) => labels.indexOf(g.classId)),
    known.map((g) => toModelCxcywh(g, run)),
    settings.weights,
  );
  const pairs =
    settings.mode === 'o2m'
      ? matchRepeated(cost, q, known.length, settings.k)
      : linearAssignment(cost, q, known.length);
  const predicted = new Map<number, Box>();
  for (const [query] of pairs)
    predicted.set(query, fromModelCxcywh(boxes.data.subarray(query * 4, query * 4 + 4), run));
  return {
    block: block.logits.block as BlockName,
    queries: q,
    trainedK: block.logits.k ?? null,
    objects: known,
    skipped: { count: unknown.length, classes: [...new Set(unknown.map((g) => g.classId))] },
    pairs,
    cost,
    predicted,
    assigned: predicted.size,
  };
}
