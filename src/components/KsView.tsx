import { useEffect, useMemo, useRef, useState } from 'react';
import { boxMaskOnGrid, keyAttentionPerHead, maskedShare, range } from '../analysis/attention';
import type { Box } from '../analysis/boxes';
import { galleryObjects, loadGalleryCoco, type GalleryCoco } from '../app/controller';
import { encoderAttention } from '../inference/views';
import { useStore } from '../state/store';
import { drawHeatmap } from '../viz/attention';
import { usePaneResult } from './Pane';


function Heat({ values, grid, mask }: { values: Float32Array; grid: [number, number]; mask: Uint8Array }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const [lo, hi] = range(values);
    drawHeatmap(c, values, grid[1], grid[0], lo, hi);
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = 'rgba(255,255,255,0.35)';
    mask.forEach((m, i) => m && ctx.fillRect(i % grid[1], Math.floor(i / grid[1]), 1, 1));
  }, [values, grid, mask]);
  return <canvas ref={ref} className="h-40 w-40" style={{ imageRendering: 'pixelated' }} />;
}

/** KS-DETR: how much encoder attention lands on the foreground, per model and head. */
export function KsView() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const [coco, setCoco] = useState<GalleryCoco | null>(null);
  useEffect(() => void loadGalleryCoco().then(setCoco), []);
  const detModel = models.find((m) => slots[m]?.model?.contract.model.task === 'detection');
  const detResult = usePaneResult(detModel ?? '', image);
  const withAttn = models.map((id) => ({ id, out: slots[id]?.model && encoderAttention(slots[id]!.model!.contract) }))
    .filter((m) => m.out);
  const gt: Box[] | null = useMemo(() => (image ? galleryObjects(coco, image) : null), [coco, image]);
  if (!withAttn.length || !image) return null;
  const boxes = gt ?? (detResult?.kind === 'detection' ? detResult.detections : []);
  const source = gt ? 'ground-truth boxes (gallery COCO)' : `${detModel}'s boxes above the threshold`;
  return (
    <section className="mt-6" data-testid="ks-view">
      <h2 className="text-lg font-semibold">KS-DETR: encoder attention on the foreground</h2>
      <p className="text-xs text-slate-400">Foreground = grid cells under {source}. Share = mean over queries of the attention each
        key receives, summed over foreground keys (uniform attention would give the foreground's area share).</p>
      <div className="mt-2 flex flex-wrap gap-6">
        {withAttn.map(({ id, out }) => {
          const run = results[`${id}@${image.name}`];
          if (!run || !out) return null;
          const t = run.outputs[out.name];
          const [, heads, n] = t.dims;
          const grid = out.grid!;
          const mask = boxMaskOnGrid(boxes, image.bitmap.width, image.bitmap.height, grid[0], grid[1]);
          const perHead = keyAttentionPerHead(t.data, heads, n);
          const mean = perHead.reduce((acc, h) => acc.map((v, i) => v + h[i] / heads), new Float32Array(n));
          const area = mask.reduce((a, b) => a + b, 0) / n;
          return (
            <figure key={id} className="text-xs" data-testid={`ks-${id}`}>
              <div className="font-mono">{id}</div>
              <Heat values={mean} grid={grid} mask={mask} />
              <figcaption data-testid="ks-share">foreground share {(100 * maskedShare(mean, mask)).toFixed(1)} % (area {(100 * area).toFixed(1)} %)</figcaption>
              <div className="text-slate-400">per head: {perHead.map((h) => `${(100 * maskedShare(h, mask)).toFixed(0)} %`).join(' · ')}</div>
            </figure>
          );
        })}
      </div>
    </section>
  );
}
