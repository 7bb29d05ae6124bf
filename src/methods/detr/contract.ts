/** A DETR query block as the detection methods read it, asked of the contract (roles, never names). */
import { type Detection, decodeQueries, rankQueryLabels } from '../../analysis/boxes';
import { boxToImage } from '../../analysis/geometry';
import type { Contract, ContractOutput } from '../../contract';
import type { Run } from '../../state/runs';

export type BlockName = 'one_to_one' | 'one_to_many';

export interface QueryBlock {
  logits: ContractOutput;
  boxes: ContractOutput;
  cross?: ContractOutput;
}

/** A query block's last-decoder-layer cross-attention (head mean) [1, Q, N], when the contract declares one. */
export const crossAttention = (c: Contract, block: BlockName) =>
  c.outputs.find((o) => o.role === 'cross_attention' && o.block === block && o.grid);

export const encoderAttention = (c: Contract) => c.outputs.find((o) => o.role === 'encoder_attention' && o.grid);

export function queryBlock(c: Contract, name: BlockName): QueryBlock | null {
  const logits = c.outputs.find((o) => o.role === 'box_logits' && o.block === name);
  const boxes = c.outputs.find((o) => o.role === 'boxes' && o.block === name);
  return logits && boxes ? { logits, boxes, cross: crossAttention(c, name) } : null;
}

export const isDetector = (c: Contract) => !!queryBlock(c, 'one_to_one');

/** The score threshold the contract recommends for its detections (chosen on validation data), if any. */
export function recommendedThreshold(c: Contract): number | null {
  const logits = queryBlock(c, 'one_to_one')?.logits as (ContractOutput & { score_threshold?: number }) | undefined;
  const value = logits?.score_threshold ?? (c.model as { score_threshold?: number } | undefined)?.score_threshold;
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : null;
}

/**
 * Every query of a block above `threshold` (0: all), scored by the block's `activation` (softmax over its
 * columns, a last no-object column included), boxes read in its `box_format` and mapped to the run's image
 * pixels (through its placement).
 */
export function blockQueries(block: QueryBlock, run: Pick<Run, 'outputs' | 'placement'>, threshold = 0): Detection[] {
  const l = run.outputs[block.logits.name];
  const b = run.outputs[block.boxes.name];
  if (!l || !b) return [];
  const p = run.placement;
  return decodeQueries(l.data, b.data, l.dims[1], block.logits.labels ?? [], p.inputWidth, p.inputHeight, threshold, {
    activation: block.logits.activation,
    boxFormat: block.boxes.box_format,
    columns: l.dims[2],
  }).map((d) => boxToImage(p, d));
}

/** A block's top (query, label) pairs by score at any score (rankQueryLabels), in the run's image pixels: COCO AP's detections. */
export function blockRanked(block: QueryBlock, run: Pick<Run, 'outputs' | 'placement'>, top: number): Detection[] {
  const l = run.outputs[block.logits.name];
  const b = run.outputs[block.boxes.name];
  if (!l || !b) return [];
  const p = run.placement;
  return rankQueryLabels(l.data, b.data, l.dims[1], block.logits.labels ?? [], p.inputWidth, p.inputHeight, top, {
    activation: block.logits.activation,
    boxFormat: block.boxes.box_format,
    columns: l.dims[2],
  }).map((d) => boxToImage(p, d));
}

/** Outputs of both blocks (logits, boxes, cross-attention) that a contract declares. */
export const blockOutputs = (c: Contract): string[] =>
  (['one_to_one', 'one_to_many'] as const).flatMap((n) => {
    const b = queryBlock(c, n);
    return b ? [b.logits.name, b.boxes.name, ...(b.cross ? [b.cross.name] : [])] : [];
  });
