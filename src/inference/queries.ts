/** A DETR query block's outputs as the attention views read them: blocks and all queries, asked of the contract. */
import { decodeQueries, type Detection } from '../analysis/boxes';
import type { Contract, ContractOutput } from '../contract';
import type { TensorPayload } from './protocol';
import { placement, toImage } from './preprocess';
import { crossAttention } from './views';

export type BlockName = 'one_to_one' | 'one_to_many';

export interface QueryBlock {
  logits: ContractOutput;
  boxes: ContractOutput;
  cross?: ContractOutput;
}

export function queryBlock(c: Contract, name: BlockName): QueryBlock | null {
  const logits = c.outputs.find((o) => o.role === 'box_logits' && o.block === name);
  const boxes = c.outputs.find((o) => o.role === 'boxes' && o.block === name && o.box_format === 'cxcywh_normalized');
  return logits && boxes ? { logits, boxes, cross: crossAttention(c, name) } : null;
}

/** Every query of a block (any score) as a detection in the pixels of a width×height image. */
export function blockQueries(c: Contract, block: QueryBlock, outputs: Record<string, TensorPayload>, width: number, height: number): Detection[] {
  const l = outputs[block.logits.name];
  const b = outputs[block.boxes.name];
  if (!l || !b) return [];
  const p = placement(width, height, c.input);
  return decodeQueries(l.data, b.data, l.dims[1], block.logits.labels ?? [], p.inputWidth, p.inputHeight, 0).map((d) => {
    const [x0, y0] = toImage(p, d.x0, d.y0);
    const [x1, y1] = toImage(p, d.x1, d.y1);
    return { ...d, x0, y0, x1, y1 };
  });
}
