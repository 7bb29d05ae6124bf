import { useEffect, useMemo, useRef } from 'react';
import { range } from '../../analysis/attention';
import { inputFrameOnImage } from '../../analysis/geometry';
import { peak, upsampleBilinear } from '../../analysis/queries';
import { Heatmap } from '../../components/charts/Heatmap';
import { useCurrentImage, useRun } from '../../components/hooks';
import { imageBox, Photo } from '../../components/Photo';
import type { Run } from '../../state/runs';
import { type ImageEntry, useStore } from '../../state/store';
import { drawQueryBox } from '../../viz/detr';
import { type QueryAttention, useQueryAttention } from '../detr/hooks';

const blockWords = (b: string) => (b === 'one_to_many' ? 'one-to-many' : 'one-to-one');

/** DETR: the decoder cross-attention of a clicked detection's query, for every detector shown side by side. */
export default function QueryAttentionView() {
  const image = useCurrentImage();
  const selection = useStore((s) => s.view.selection);
  const qa = useQueryAttention(image);
  if (!image) return null;
  return (
    <>
      {!selection && (
        <p className="text-sm text-slate-400" data-testid="qattn-hint">
          Click a detection box in a pane above, or a predicted box in the H-DETR view, to see its query's
          cross-attention over the image in every detector.
        </p>
      )}
      {qa?.problem && (
        <p className="text-sm text-amber-300" data-testid="qattn-problem">
          {qa.problem}
        </p>
      )}
      {selection && (
        <p className="text-xs text-slate-400">
          Map = the last decoder layer's cross-attention of one query over the encoder's feature grid, mean over heads
          (as the model exports it), one colour range per model (shown). The clicked model shows the clicked query;
          every other model shows its query for the same object, and says how it was chosen.{' '}
          <button
            type="button"
            className="underline"
            data-testid="qattn-clear"
            onClick={() => useStore.getState().setView({ selection: null })}
          >
            clear selection
          </button>
        </p>
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {qa?.items.map((item) => (
          <QueryPanel key={item.id} item={item} image={image} clicked={item.id === selection?.model} />
        ))}
      </div>
    </>
  );
}

function QueryPanel({ item, image, clicked }: { item: QueryAttention; image: ImageEntry; clicked: boolean }) {
  const run = useRun(item.id, image) as Run;
  const svg = useRef<SVGSVGElement>(null);
  const opacity = useStore((s) => s.view.opacity);
  const { contract, detection: d, cross, row } = item;
  const p = run.placement;
  const W = run.width;
  const H = run.height;
  const grid = cross?.grid ?? [1, 1];
  const upsample = cross?.upsample ?? 'bilinear';
  const drawn = useMemo(() => {
    if (!row) return null;
    const [lo, hi] = range(row);
    if (upsample === 'nearest') return { values: row, grid: grid as [number, number], lo, hi };
    const values = upsampleBilinear(
      row,
      grid[0],
      grid[1],
      p.inputHeight,
      p.inputWidth,
      upsample === 'bilinear_align_corners',
    );
    return { values, grid: [p.inputHeight, p.inputWidth] as [number, number], lo, hi };
  }, [row, grid, upsample, p.inputHeight, p.inputWidth]);
  const className = contract.classes.find((c) => c.id === d.classId);
  useEffect(() => {
    if (svg.current) drawQueryBox(svg.current, d, `q${d.query}`, className?.color ?? '#fff', W, H);
  }, [d, className, W, H]);
  const top = row ? peak(row) : null;
  const total = row ? row.reduce((a, b) => a + b, 0) : 0;
  return (
    <figure className="w-72 text-xs" data-testid={`qattn-${item.id}`} data-query={d.query} data-block={item.block}>
      <div className="font-mono">{item.id}</div>
      <div className="relative overflow-hidden" style={imageBox(image, 256)}>
        <Photo image={image} />
        {drawn && (
          <Heatmap
            values={drawn.values}
            grid={drawn.grid}
            domain={[drawn.lo, drawn.hi]}
            legend={false}
            testId="qattn-heat"
            className="absolute"
            style={{
              ...inputFrameOnImage(p, W, H),
              opacity,
              imageRendering: upsample === 'nearest' ? 'pixelated' : 'auto',
            }}
          />
        )}
        <svg ref={svg} className="absolute inset-0 h-full w-full" preserveAspectRatio="none" />
      </div>
      <figcaption data-testid="qattn-caption">
        query {d.query} of the {blockWords(item.block)} block · {className?.name ?? d.classId}{' '}
        {(100 * d.score).toFixed(1)} % · {clicked ? 'the query you clicked' : <>matched: {item.how}</>}
      </figcaption>
      {row && top && drawn ? (
        <div className="text-slate-400">
          <div data-testid="qattn-peak">
            peak at cell ({Math.floor(top.index / grid[1])}, {top.index % grid[1]}):{' '}
            {((100 * top.value) / (total || 1)).toFixed(1)} % of the row
          </div>
          <div>
            {cross!.name}: last decoder layer, mean over heads, {grid[0]}×{grid[1]} grid of {cross!.stride ?? '?'} px
            cells; colours {drawn.lo.toExponential(2)} … {drawn.hi.toExponential(2)} (viridis); upsampled{' '}
            {upsample === 'nearest'
              ? 'nearest'
              : `bilinear (${upsample === 'bilinear_align_corners' ? 'align_corners=True' : 'half-pixel centres, align_corners=False'})`}{' '}
            as the contract says
          </div>
        </div>
      ) : (
        <div className="text-amber-300">
          this model's contract declares no cross_attention for its {blockWords(item.block)} block: nothing to draw
        </div>
      )}
    </figure>
  );
}
