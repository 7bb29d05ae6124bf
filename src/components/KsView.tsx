import { useEffect, useMemo, useRef } from 'react';
import { boxMaskOnGrid, keyAttentionPerHead, range } from '../analysis/attention';
import { cellCentre, foregroundShares, gridCellAt, meanRow, tokenRows } from '../analysis/queries';
import type { Contract, ContractOutput } from '../contract';
import { placement } from '../inference/preprocess';
import type { TensorPayload } from '../inference/protocol';
import { encoderAttention } from '../inference/views';
import { useStore, type ImageEntry } from '../state/store';
import type { ViewState } from '../state/viewState';
import { drawHeatmap } from '../viz/attention';
import { useGroundTruth, useQueryAttention, type QueryAttention } from './useDetr';

/** The attention set against the fg mask for one model: per head (when there are heads) and the mean. */
interface Rows {
  perHead: Float32Array[];
  mean: Float32Array;
  grid: [number, number];
  what: string;
  /** A cell to outline (the clicked token). */
  cell: number | null;
}

function Heat({ rows, mask, onPick }: { rows: Rows; mask: Uint8Array; onPick: (fx: number, fy: number) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const { mean, grid, cell } = rows;
    const [lo, hi] = range(mean);
    drawHeatmap(c, mean, grid[1], grid[0], lo, hi);
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = 'rgba(255,255,255,0.35)';
    mask.forEach((m, i) => m && ctx.fillRect(i % grid[1], Math.floor(i / grid[1]), 1, 1));
    if (cell !== null) {
      ctx.fillStyle = '#f43f5e';
      ctx.fillRect(cell % grid[1], Math.floor(cell / grid[1]), 1, 1);
    }
  }, [rows, mask]);
  return (
    <canvas ref={ref} data-testid="ks-heat" className="h-40 w-40 cursor-crosshair" style={{ imageRendering: 'pixelated' }}
      title="click a cell: that location's encoder attention row"
      onClick={(e) => {
        const r = e.currentTarget.getBoundingClientRect();
        onPick((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
      }} />
  );
}

const cellWords = (cell: number, grid: [number, number]) => `(${Math.floor(cell / grid[1])}, ${cell % grid[1]})`;

/** The rows for the chosen source, or why there are none. */
function rowsFor(source: ViewState['ksSource'], enc: ContractOutput, t: TensorPayload, contract: Contract, image: ImageEntry,
  point: [number, number] | null, query: QueryAttention | undefined): Rows | string {
  const [, heads, n] = t.dims;
  const grid = enc.grid!;
  if (source === 'mean') {
    const perHead = keyAttentionPerHead(t.data, heads, n);
    return { perHead, mean: meanRow(perHead), grid, cell: null,
      what: 'encoder self-attention, mean over all query tokens of the attention each key receives' };
  }
  if (source === 'point') {
    if (!point) return 'click a cell on a map to pick a location';
    const cell = gridCellAt(point[0], point[1], placement(image.bitmap.width, image.bitmap.height, contract.input), grid);
    if (cell === null) return 'the clicked point is off the image';
    const perHead = tokenRows(t.data, heads, n, cell);
    return { perHead, mean: meanRow(perHead), grid, cell,
      what: `encoder self-attention row of the token at cell ${cellWords(cell, grid)} (image point ${point[0].toFixed(0)}, ${point[1].toFixed(0)}): where that location looks` };
  }
  if (!query) return 'click a detection (in a pane or the H-DETR view) to pick a query';
  if (!query.row || !query.cross?.grid) return `${query.id} exports no cross_attention for its query`;
  return { perHead: [], mean: query.row, grid: query.cross.grid, cell: null,
    what: `cross-attention of query ${query.detection.query} (${query.block.replace(/_/g, '-')} block; ${query.rule === 'same-query' ? 'the clicked query' : `matched: ${query.how}`}), last decoder layer, head mean as exported` };
}

/** KS-DETR: how much attention lands on the ground-truth foreground, per model and head, for a chosen source. */
export function KsView() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const source = useStore((s) => s.view.ksSource);
  const point = useStore((s) => s.view.point);
  const setView = useStore((s) => s.setView);
  const gt = useGroundTruth(image);
  const qa = useQueryAttention(image);
  const withAttn = models.map((id) => ({ id, contract: slots[id]?.model?.contract }))
    .map(({ id, contract }) => ({ id, contract, out: contract && encoderAttention(contract) }))
    .filter((m): m is { id: string; contract: Contract; out: ContractOutput } => !!m.out);
  const boxes = useMemo(() => gt?.objects ?? [], [gt]);
  if (!withAttn.length || !image || !gt) return null;
  const pick = (contract: Contract, grid: [number, number]) => (fx: number, fy: number) => {
    // The map covers the model input; the clicked cell's centre, back in image pixels (exact for letterbox too).
    const cell = Math.min(grid[0] - 1, Math.floor(fy * grid[0])) * grid[1] + Math.min(grid[1] - 1, Math.floor(fx * grid[1]));
    setView({ ksSource: 'point', point: cellCentre(cell, placement(image.bitmap.width, image.bitmap.height, contract.input), grid) });
  };
  return (
    <section className="mt-6" data-testid="ks-view">
      <h2 className="text-lg font-semibold">KS-DETR: attention on the foreground</h2>
      <div className="flex flex-wrap gap-4 text-sm">
        <label><input type="radio" data-testid="ks-src-mean" checked={source === 'mean'} onChange={() => setView({ ksSource: 'mean' })} /> encoder mean</label>
        <label><input type="radio" data-testid="ks-src-point" checked={source === 'point'} onChange={() => setView({ ksSource: 'point' })} /> clicked location</label>
        <label><input type="radio" data-testid="ks-src-query" checked={source === 'query'} onChange={() => setView({ ksSource: 'query' })} /> clicked detection's query</label>
      </div>
      <p className="text-xs text-slate-400" data-testid="ks-mask-source">Foreground = grid cells under {gt.label} ({gt.objects.length} {gt.objects.length === 1 ? 'box' : 'boxes'}; white tint).
        Share = the attention's mass on foreground cells over its total; uniform attention would give the foreground's area share.
        Click a cell of a map to use that location's encoder row.</p>
      <div className="mt-2 flex flex-wrap gap-6">
        {withAttn.map(({ id, contract, out }) => {
          const run = results[`${id}@${image.name}`];
          const t = run?.outputs[out.name];
          if (!t) return null;
          const rows = rowsFor(source, out, t, contract, image, point, qa?.items.find((i) => i.id === id));
          const grid = typeof rows === 'string' ? out.grid! : rows.grid;
          const mask = boxMaskOnGrid(boxes, image.bitmap.width, image.bitmap.height, grid[0], grid[1]);
          const area = mask.reduce((a, b) => a + b, 0) / mask.length;
          if (typeof rows === 'string') {
            const mean = rowsFor('mean', out, t, contract, image, null, undefined) as Rows;
            return (
              <figure key={id} className="w-48 text-xs" data-testid={`ks-${id}`}>
                <div className="font-mono">{id}</div>
                <Heat rows={mean} mask={mask} onPick={pick(contract, grid)} />
                <figcaption className="text-amber-300" data-testid="ks-missing">{rows}</figcaption>
              </figure>
            );
          }
          const shares = foregroundShares(rows.perHead, rows.mean, mask);
          return (
            <figure key={id} className="w-48 text-xs" data-testid={`ks-${id}`} data-share={shares.mean} data-heads={JSON.stringify(shares.perHead)}>
              <div className="font-mono">{id}</div>
              <Heat rows={rows} mask={mask} onPick={pick(contract, grid)} />
              <figcaption data-testid="ks-share">foreground share {(100 * shares.mean).toFixed(1)} % (area {(100 * area).toFixed(1)} %)</figcaption>
              <div className="text-slate-400" data-testid="ks-heads">{shares.perHead.length
                ? `per head: ${shares.perHead.map((h) => `${(100 * h).toFixed(1)} %`).join(' · ')}`
                : 'per head: not available (the model exports the head mean of its cross-attention)'}</div>
              <div className="text-slate-400" data-testid="ks-what">{rows.what}</div>
            </figure>
          );
        })}
      </div>
    </section>
  );
}
