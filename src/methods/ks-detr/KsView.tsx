import { useEffect, useRef } from 'react';
import { range } from '../../analysis/attention';
import { cellCentre } from '../../analysis/queries';
import { ColourScale } from '../../components/charts/Heatmap';
import { useCurrentImage, useModelsInView, useRuns } from '../../components/hooks';
import { NoValueNote } from '../../components/NonFinite';
import type { Run } from '../../state/runs';
import { useStore } from '../../state/store';
import { drawGridWithMask } from '../../viz/attention';
import { encoderAttention } from '../detr/contract';
import { useGroundTruth, useQueryAttention } from '../detr/hooks';
import { computeKs, type KsCard } from './compute';

function Heat({ card, onPick }: { card: KsCard; onPick: (fx: number, fy: number) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawGridWithMask(ref.current, card.rows.mean, card.rows.grid, card.mask, card.rows.cell);
  }, [card]);
  const [lo, hi] = range(card.rows.mean);
  return (
    <>
      <canvas
        ref={ref}
        data-testid="ks-heat"
        className="h-40 w-40 cursor-crosshair"
        style={{ imageRendering: 'pixelated' }}
        title="click a cell: that location's encoder attention row"
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          onPick((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
        }}
      />
      <ColourScale lo={lo} hi={hi} />
      <NoValueNote values={card.rows.mean} what="attention cells" />
    </>
  );
}

/** KS-DETR: how much attention lands on the ground-truth foreground, per model and head, for a chosen source. */
export default function KsView() {
  const image = useCurrentImage();
  const models = useModelsInView().filter((m) => encoderAttention(m.contract));
  const runs = useRuns(image);
  const settings = useStore((s) => s.view.methods.ks);
  const setMethod = useStore((s) => s.setMethod);
  const gt = useGroundTruth(image);
  const qa = useQueryAttention(image);
  if (!image || !gt) return null;
  const pick = (run: Run, grid: [number, number]) => (fx: number, fy: number) => {
    // The map covers the model input; the clicked cell's centre, back in image pixels (exact for letterbox too).
    const cell =
      Math.min(grid[0] - 1, Math.floor(fy * grid[0])) * grid[1] + Math.min(grid[1] - 1, Math.floor(fx * grid[1]));
    setMethod('ks', { source: 'point', point: cellCentre(cell, run.placement, grid) });
  };
  const src = settings.source;
  return (
    <>
      <div className="flex flex-wrap gap-4 text-sm">
        <label>
          <input
            type="radio"
            data-testid="ks-src-mean"
            checked={src === 'mean'}
            onChange={() => setMethod('ks', { source: 'mean' })}
          />{' '}
          encoder mean
        </label>
        <label>
          <input
            type="radio"
            data-testid="ks-src-point"
            checked={src === 'point'}
            onChange={() => setMethod('ks', { source: 'point' })}
          />{' '}
          clicked location
        </label>
        <label>
          <input
            type="radio"
            data-testid="ks-src-query"
            checked={src === 'query'}
            onChange={() => setMethod('ks', { source: 'query' })}
          />{' '}
          clicked detection's query
        </label>
      </div>
      <p className="text-xs text-slate-400" data-testid="ks-mask-source">
        Foreground = grid cells under {gt.label} ({gt.objects.length} {gt.objects.length === 1 ? 'box' : 'boxes'}; white
        tint), mapped into each model's input as it saw the image. Share = the attention's mass on foreground cells over
        its total; uniform attention would give the foreground's area share. Click a cell of a map to use that
        location's encoder row.
      </p>
      {gt.objects.length === 0 && (
        <p className="text-sm text-amber-300" data-testid="ks-no-objects">
          No foreground on this image ({gt.label}): shares are 0. Draw boxes in the ground-truth editor.
        </p>
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {models.map(({ id, contract }) => {
          const run = runs[id];
          if (!run)
            return (
              <p key={id} className="text-xs text-slate-400">
                {id}: waiting for its run…
              </p>
            );
          const card = computeKs(
            contract,
            run,
            gt.objects,
            settings,
            qa?.items.find((i) => i.id === id),
          );
          if (typeof card === 'string')
            return (
              <p key={id} className="text-xs text-amber-300">
                {id}: {card}
              </p>
            );
          return (
            <figure
              key={id}
              className="w-48 text-xs"
              data-testid={`ks-${id}`}
              data-share={card.shares?.mean}
              data-heads={card.shares ? JSON.stringify(card.shares.perHead) : undefined}
            >
              <div className="font-mono">{id}</div>
              <Heat card={card} onPick={pick(run, card.rows.grid)} />
              {card.missing ? (
                <figcaption className="text-amber-300" data-testid="ks-missing">
                  {card.missing}
                </figcaption>
              ) : (
                <>
                  <figcaption data-testid="ks-share">
                    foreground share {(100 * card.shares!.mean).toFixed(1)} % (area {(100 * card.area).toFixed(1)} %)
                  </figcaption>
                  <div className="text-slate-400" data-testid="ks-heads">
                    {card.shares!.perHead.length
                      ? `per head: ${card.shares!.perHead.map((h) => `${(100 * h).toFixed(1)} %`).join(' · ')}`
                      : 'per head: not available (the model exports the head mean of its cross-attention)'}
                  </div>
                  <div className="text-slate-400" data-testid="ks-what">
                    {card.rows.what}
                  </div>
                </>
              )}
            </figure>
          );
        })}
      </div>
    </>
  );
}
