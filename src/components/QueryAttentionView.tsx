import { useEffect, useMemo, useRef } from 'react';
import { range } from '../analysis/attention';
import { peak, upsampleBilinear } from '../analysis/queries';
import { placement } from '../inference/preprocess';
import { crossAttention } from '../inference/views';
import { useStore, type ImageEntry } from '../state/store';
import { drawHeatmap } from '../viz/attention';
import { drawQueryBox } from '../viz/detr';
import { useDetectors, useQueryAttention, type QueryAttention } from './useDetr';
import { usePhoto } from './usePhoto';

const blockWords = (b: string) => (b === 'one_to_many' ? 'one-to-many' : 'one-to-one');

/** DETR: the decoder cross-attention of a clicked detection's query, for every detector shown side by side. */
export function QueryAttentionView() {
  const image = useStore((s) => s.images[s.current]);
  const selection = useStore((s) => s.view.selection);
  const slots = useStore((s) => s.slots);
  const detectors = useDetectors().filter((id) => crossAttention(slots[id]!.model!.contract, 'one_to_one'));
  const qa = useQueryAttention(image);
  if (!detectors.length || !image) return null;
  return (
    <section className="mt-6" data-testid="query-attention">
      <h2 className="text-lg font-semibold">DETR queries: where a detection looks (decoder cross-attention)</h2>
      {!selection && <p className="text-sm text-slate-400" data-testid="qattn-hint">Click a detection box in a pane above, or a predicted box in the
        H-DETR view, to see its query's cross-attention over the image in every detector.</p>}
      {qa?.problem && <p className="text-sm text-amber-300">{qa.problem}</p>}
      {selection && (
        <p className="text-xs text-slate-400">Map = the last decoder layer's cross-attention of one query over the encoder's feature grid,
          mean over heads (as the model exports it), one colour range per model (shown). The clicked model shows the clicked query;
          every other model shows its query for the same object, and says how it was chosen.{' '}
          <button className="underline" data-testid="qattn-clear" onClick={() => useStore.getState().setView({ selection: null })}>clear selection</button></p>
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {qa?.items.map((item) => <QueryPanel key={item.id} item={item} image={image} clicked={item.id === selection?.model} />)}
      </div>
    </section>
  );
}

function QueryPanel({ item, image, clicked }: { item: QueryAttention; image: ImageEntry; clicked: boolean }) {
  const photo = useRef<HTMLCanvasElement>(null);
  const heat = useRef<HTMLCanvasElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const opacity = useStore((s) => s.view.opacity);
  const W = image.bitmap.width;
  const H = image.bitmap.height;
  const { contract, detection: d, cross, row } = item;
  const p = placement(W, H, contract.input);
  const grid = cross?.grid ?? [1, 1];
  const upsample = cross?.upsample ?? 'bilinear';
  const drawn = useMemo(() => {
    if (!row) return null;
    const [lo, hi] = range(row);
    if (upsample === 'nearest') return { values: row, w: grid[1], h: grid[0], lo, hi };
    const values = upsampleBilinear(row, grid[0], grid[1], p.inputHeight, p.inputWidth, upsample === 'bilinear_align_corners');
    return { values, w: p.inputWidth, h: p.inputHeight, lo, hi };
  }, [row, grid, upsample, p.inputHeight, p.inputWidth]);
  usePhoto(photo, image);
  const className = contract.classes.find((c) => c.id === d.classId);
  useEffect(() => {
    if (drawn && heat.current) drawHeatmap(heat.current, drawn.values, drawn.w, drawn.h, drawn.lo, drawn.hi);
    if (svg.current) drawQueryBox(svg.current, d, `q${d.query}`, className?.color ?? '#fff', W, H);
  }, [drawn, d, className, W, H]);
  const top = row ? peak(row) : null;
  // The grid covers the model input; where that lies over the image (exact for letterbox too).
  const frame = { left: `${(-p.offsetX / p.scaleX / W) * 100}%`, top: `${(-p.offsetY / p.scaleY / H) * 100}%`,
    width: `${(p.inputWidth / p.scaleX / W) * 100}%`, height: `${(p.inputHeight / p.scaleY / H) * 100}%` };
  const total = row ? row.reduce((a, b) => a + b, 0) : 0;
  return (
    <figure className="w-72 text-xs" data-testid={`qattn-${item.id}`} data-query={d.query} data-block={item.block}>
      <div className="font-mono">{item.id}</div>
      <div className="relative h-64 w-64 overflow-hidden" style={{ aspectRatio: `${W} / ${H}` }}>
        <canvas ref={photo} className="absolute inset-0 h-full w-full" />
        {row && <canvas ref={heat} data-testid="qattn-heat" className="absolute" style={{ ...frame, opacity, imageRendering: upsample === 'nearest' ? 'pixelated' : 'auto' }} />}
        <svg ref={svg} className="absolute inset-0 h-full w-full" preserveAspectRatio="none" />
      </div>
      <figcaption data-testid="qattn-caption">
        query {d.query} of the {blockWords(item.block)} block · {className?.name ?? d.classId} {(100 * d.score).toFixed(1)} % ·{' '}
        {clicked ? 'the query you clicked' : <>matched: {item.how}</>}
      </figcaption>
      {row && top ? (
        <div className="text-slate-400">
          <div data-testid="qattn-peak">peak at cell ({Math.floor(top.index / grid[1])}, {top.index % grid[1]}): {(100 * top.value / (total || 1)).toFixed(1)} % of the row</div>
          <div>{cross!.name}: last decoder layer, mean over heads, {grid[0]}×{grid[1]} grid of {cross!.stride ?? '?'} px cells;
            colours {drawn!.lo.toExponential(2)} … {drawn!.hi.toExponential(2)} (viridis);
            upsampled {upsample === 'nearest' ? 'nearest' : `bilinear (${upsample === 'bilinear_align_corners' ? 'align_corners=True' : 'half-pixel centres, align_corners=False'})`} as the contract says</div>
        </div>
      ) : <div className="text-amber-300">this model's contract declares no cross_attention for its {blockWords(item.block)} block: nothing to draw</div>}
    </figure>
  );
}
