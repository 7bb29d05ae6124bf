/** The KS-DETR view model (pure): the attention for a source, the fg mask on the model's grid, the shares. */
import { boxMaskOnGrid, keyAttentionPerHead } from '../../analysis/attention';
import type { Box } from '../../analysis/boxes';
import { boxToInput } from '../../analysis/geometry';
import { foregroundShares, gridCellAt, meanRow, tokenRows } from '../../analysis/queries';
import type { Contract } from '../../contract';
import type { Run } from '../../state/runs';
import { encoderAttention } from '../detr/contract';
import type { QueryAttention } from '../detr/hooks';
import type { KsSettings } from './index';

export interface KsRows {
  perHead: Float32Array[];
  mean: Float32Array;
  grid: [number, number];
  what: string;
  /** A cell to outline (the clicked token). */
  cell: number | null;
}

export interface KsCard {
  /** The map drawn: the rows for the source, or the encoder mean with `missing` saying why the source has none. */
  rows: KsRows;
  missing: string | null;
  mask: Uint8Array;
  area: number;
  shares: { perHead: number[]; mean: number } | null;
}

/** Cells of the model's grid under any box: boxes mapped into the model input through the run's placement. */
export function foregroundOnGrid(boxes: Box[], run: Pick<Run, 'placement'>, grid: [number, number]): Uint8Array {
  const p = run.placement;
  return boxMaskOnGrid(
    boxes.map((b) => boxToInput(p, b)),
    p.inputWidth,
    p.inputHeight,
    grid[0],
    grid[1],
  );
}

const cellWords = (cell: number, grid: [number, number]) => `(${Math.floor(cell / grid[1])}, ${cell % grid[1]})`;

function rowsFor(
  settings: KsSettings,
  contract: Contract,
  run: Run,
  query: QueryAttention | undefined,
): KsRows | string {
  const enc = encoderAttention(contract)!;
  const t = run.outputs[enc.name];
  const [, heads, n] = t.dims;
  const grid = enc.grid!;
  if (settings.source === 'point') {
    const point = settings.point;
    if (!point) return 'click a cell on a map to pick a location';
    const cell = gridCellAt(point[0], point[1], run.placement, grid);
    if (cell === null) return 'the clicked point is off the image';
    const perHead = tokenRows(t.data, heads, n, cell);
    return {
      perHead,
      mean: meanRow(perHead),
      grid,
      cell,
      what: `encoder self-attention row of the token at cell ${cellWords(cell, grid)} (image point ${point[0].toFixed(0)}, ${point[1].toFixed(0)}): where that location looks`,
    };
  }
  if (settings.source === 'query') {
    if (!query) return 'click a detection (in a pane or the H-DETR view) to pick a query';
    if (!query.row || !query.cross?.grid) return `${query.id} exports no cross_attention for its query`;
    return {
      perHead: [],
      mean: query.row,
      grid: query.cross.grid,
      cell: null,
      what: `cross-attention of query ${query.detection.query} (${query.block.replace(/_/g, '-')} block; ${query.rule === 'same-query' ? 'the clicked query' : `matched: ${query.how}`}), last decoder layer, head mean as exported`,
    };
  }
  const perHead = keyAttentionPerHead(t.data, heads, n);
  return {
    perHead,
    mean: meanRow(perHead),
    grid,
    cell: null,
    what: 'encoder self-attention, mean over all query tokens of the attention each key receives',
  };
}

export function computeKs(
  contract: Contract,
  run: Run,
  boxes: Box[],
  settings: KsSettings,
  query: QueryAttention | undefined,
): KsCard | string {
  const enc = encoderAttention(contract);
  if (!enc || !run.outputs[enc.name]) return 'no encoder attention in this run';
  const chosen = rowsFor(settings, contract, run, query);
  const rows =
    typeof chosen === 'string'
      ? (rowsFor({ source: 'mean', point: null }, contract, run, undefined) as KsRows)
      : chosen;
  const mask = foregroundOnGrid(boxes, run, rows.grid);
  const area = mask.reduce((a, b) => a + b, 0) / mask.length;
  return {
    rows,
    mask,
    area,
    missing: typeof chosen === 'string' ? chosen : null,
    shares: typeof chosen === 'string' ? null : foregroundShares(rows.perHead, rows.mean, mask),
  };
}
