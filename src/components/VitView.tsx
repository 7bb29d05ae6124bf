import { useEffect, useMemo, useRef, useState } from 'react';
import { cstScoreMask, dinoMassMask, headMean, patchMaskIoU, range } from '../analysis/attention';
import { cocoForeground, maskIoU } from '../analysis/cocoMasks';
import { patchesOf } from '../analysis/rollout';
import { rolloutModel } from '../inference/models';
import type { MathEngine } from '../inference/protocol';
import { vitAttention, vitSelfAttention } from '../inference/views';
import type { LoadedModel } from '../inference/models';
import { useStore, type ImageEntry } from '../state/store';
import { patchMaskToImage } from '../analysis/patchMask';
import { cocoMaskDocument } from '../analysis/rle';
import { placement } from '../inference/preprocess';
import { drawHeatmap } from '../viz/attention';
import { usePaneResult } from './Pane';
import { useGalleryCoco } from './useGalleryCoco';
import { usePhoto } from './usePhoto';

function Heat({ values, grid, testId }: { values: Float32Array; grid: [number, number]; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const [lo, hi] = range(values);
    if (ref.current) drawHeatmap(ref.current, values, grid[1], grid[0], lo, hi);
  }, [values, grid]);
  return <canvas ref={ref} data-testid={testId} className="h-24 w-24" style={{ imageRendering: 'pixelated' }} />;
}

/** A patch mask over the image: kept patches clear, the rest dimmed (nearest upsampling, DINO's convention). */
function MaskOverlay({ mask, grid, testId }: { mask: Uint8Array; grid: [number, number]; testId: string }) {
  const image = useStore((s) => s.images[s.current]);
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c || !image) return;
    c.width = grid[1];
    c.height = grid[0];
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(grid[1], grid[0]);
    mask.forEach((m, i) => img.data.set(m ? [56, 189, 248, 110] : [0, 0, 0, 170], i * 4));
    ctx.putImageData(img, 0, 0);
  }, [mask, grid, image]);
  const photo = useRef<HTMLCanvasElement>(null);
  usePhoto(photo, image);
  return (
    <div className="relative h-40 w-40">
      <canvas ref={photo} className="absolute inset-0 h-full w-full" />
      <canvas ref={ref} data-testid={testId} className="absolute inset-0 h-full w-full" style={{ imageRendering: 'pixelated' }} />
    </div>
  );
}

/** ViT attention → pseudo-masks: per-head CLS maps, head mean, DINO and CST masks with thresholds, IoU. */
export function VitView() {
  const models = useStore((s) => s.view.models);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const id = models.find((m) => slots[m]?.model && vitAttention(slots[m]!.model!.contract));
  const refId = models.find((m) => m !== id && slots[m]?.model?.contract.outputs.some((o) => o.role === 'segmentation_logits'));
  const reference = usePaneResult(refId ?? '', image);
  const contract = id ? slots[id]?.model?.contract : undefined;
  const spec = contract ? vitAttention(contract) : null;
  const run = id && image ? results[`${id}@${image.name}`] : undefined;
  const model = id ? slots[id]?.model : undefined;
  const coco = useGalleryCoco();
  const truth = useMemo(() => (image?.fromGallery ? cocoForeground(coco, image.name) : null), [coco, image]);
  const canRollout = !!(contract && vitSelfAttention(contract));
  const rollout = useRollout(run && canRollout && view.vitMap === 'rollout' ? model : undefined, image, view.layer, view.rolloutIdentity);
  const data = useMemo(() => {
    if (!spec || !run) return null;
    const rows = run.outputs[spec.rows.name];
    const [, layers, heads, n] = rows.dims;
    const layer = view.layer < 0 || view.layer >= layers ? layers - 1 : view.layer;
    const perHead = Array.from({ length: heads }, (_, h) => rows.data.slice((layer * heads + h) * n, (layer * heads + h + 1) * n));
    // The map the DINO mask is cut from: this layer's head-mean CLS row, or the rollout through it.
    const mean = rollout ? patchesOf(rollout.row, true) : headMean(rows.data.slice(layer * heads * n, (layer + 1) * heads * n), heads);
    const dino = dinoMassMask(mean, view.mass);
    const cos = spec.cosine ? run.outputs[spec.cosine.name] : undefined;
    const cst = cos ? cstScoreMask(cos.data, cos.dims[1], view.score) : null;
    return { layers, heads, layer, perHead, mean, dino, cst };
  }, [spec, run, view.layer, view.mass, view.score, rollout]);
  if (!spec || !data || !contract) return null;
  const mapName = rollout ? `rollout of layers 0–${rollout.upTo}${rollout.identity ? ' (½A + ½I)' : ' (no identity term)'}, head mean` : `layer ${data.layer} head mean`;
  const grid = spec.rows.grid!;
  const patch = spec.rows.patch!;
  let iou: { dino: number; cst?: number } | null = null;
  if (reference?.kind === 'segmentation' && reference.width === grid[1] * patch && reference.height === grid[0] * patch) {
    const fg = reference.classMap.map((k) => (k > 0 ? 1 : 0));
    iou = { dino: patchMaskIoU(data.dino, grid[1], patch, fg, reference.width), cst: data.cst ? patchMaskIoU(data.cst.mask, grid[1], patch, fg, reference.width) : undefined };
  }
  // Against the annotated foreground (union of the image's COCO masks), at the image's own resolution.
  let truthIoU: { dino: number; cst?: number } | null = null;
  if (truth) {
    const place = placement(truth.width, truth.height, contract.input);
    const score = (m: Uint8Array) => maskIoU(patchMaskToImage(m, grid, patch, truth.width, truth.height, place), truth.mask);
    truthIoU = { dino: score(data.dino), cst: data.cst ? score(data.cst.mask) : undefined };
  }
  const iouText = (which: 'dino' | 'cst') => [
    truthIoU?.[which] !== undefined && `IoU ${(100 * truthIoU[which]!).toFixed(1)} % vs ground truth (${truth!.objects} COCO masks)`,
    iou?.[which] !== undefined && `IoU ${(100 * iou[which]!).toFixed(1)} % vs ${refId}'s foreground`,
  ].filter(Boolean).map((t) => ` · ${t}`).join('');
  const exportPng = () => {
    const c = document.createElement('canvas');
    c.width = grid[1] * patch;
    c.height = grid[0] * patch;
    const ctx = c.getContext('2d')!;
    data.dino.forEach((m, i) => {
      ctx.fillStyle = m ? '#fff' : '#000';
      ctx.fillRect((i % grid[1]) * patch, Math.floor(i / grid[1]) * patch, patch, patch);
    });
    c.toBlob((png) => png && download(`${image?.name ?? 'image'}.${id}.dino-mask.png`, png), 'image/png');
  };
  /** The DINO pseudo-mask at the image's own resolution as a COCO annotation (compressed RLE, area, bbox). */
  const exportRle = () => {
    const width = image?.bitmap.width ?? grid[1] * patch;
    const height = image?.bitmap.height ?? grid[0] * patch;
    const mask = patchMaskToImage(data.dino, grid, patch, width, height, placement(width, height, contract.input));
    const doc = cocoMaskDocument({ mask, width, height, fileName: image?.name ?? 'image', category: 'foreground',
      description: `AttnLens DINO pseudo-mask of ${id}: ${mapName}, ${Math.round(view.mass * 100)} % of the attention mass` });
    download(`${image?.name ?? 'image'}.${id}.dino-mask.coco.json`, json(doc));
  };
  return (
    <section className="mt-6" data-testid="vit-view">
      <h2 className="text-lg font-semibold">ViT attention → pseudo-masks <span className="font-mono text-sm">{id}</span></h2>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label>layer <select data-testid="vit-layer" className="bg-slate-800 p-1" value={data.layer}
          onChange={(e) => setView({ layer: Number(e.target.value) })}>
          {Array.from({ length: data.layers }, (_, l) => <option key={l} value={l}>{l}{l === data.layers - 1 ? ' (last)' : ''}</option>)}
        </select></label>
        <label>DINO mass <input data-testid="vit-mass" type="range" min={0.05} max={0.95} step={0.05} value={view.mass}
          onChange={(e) => setView({ mass: Number(e.target.value) })} /> {view.mass.toFixed(2)}</label>
        {data.cst && <label>CST score <input type="range" min={0} max={1} step={0.01} value={view.score}
          onChange={(e) => setView({ score: Number(e.target.value) })} /> {view.score.toFixed(2)}</label>}
        <label title={canRollout ? 'Abnar & Zuidema: multiply the layers\' head-mean attention, each with the residual as ½A + ½I' : 'this model exports only CLS rows, not the full attention rollout needs'}>
          map <select data-testid="vit-map" className="bg-slate-800 p-1" value={canRollout ? view.vitMap : 'cls'} disabled={!canRollout}
            onChange={(e) => setView({ vitMap: e.target.value as 'cls' | 'rollout' })}>
            <option value="cls">CLS attention (this layer)</option>
            <option value="rollout">attention rollout (layers 0…this)</option>
          </select></label>
        {canRollout && view.vitMap === 'rollout' && <label><input type="checkbox" data-testid="vit-identity" checked={view.rolloutIdentity}
          onChange={(e) => setView({ rolloutIdentity: e.target.checked })} /> identity term</label>}
        <button className="rounded bg-slate-800 px-2 py-1" onClick={exportPng}>export DINO mask (PNG)</button>
        <button className="rounded bg-slate-800 px-2 py-1" data-testid="vit-export-rle" onClick={exportRle}>Export COCO RLE</button>
        <button className="rounded bg-slate-800 px-2 py-1" data-testid="vit-export-map" onClick={() => download(
          `${image?.name ?? 'image'}.${id}.${rollout ? 'rollout' : 'cls'}-map.json`,
          json({ model: id, image: image?.name, map: mapName, layer: data.layer, grid, patch, values: Array.from(data.mean) }))}>export map (JSON)</button>
      </div>
      <div className="mt-2 flex flex-wrap gap-2 text-xs">
        {data.perHead.map((row, h) => <figure key={h}><Heat values={row} grid={grid} testId="vit-head" /><figcaption>head {h}</figcaption></figure>)}
        <figure><Heat values={data.mean} grid={grid} testId="vit-map-heat" /><figcaption data-testid="vit-map-caption">{mapName}
          {rollout && <> · {rollout.engine === 'webgpu' ? 'GPU (tfjs on onnxruntime\'s WebGPU device)' : 'CPU'}, {rollout.milliseconds.toFixed(1)} ms</>}</figcaption></figure>
        <figure><MaskOverlay mask={data.dino} grid={grid} testId="vit-dino-mask" />
          <figcaption data-testid="vit-dino-caption">DINO: {data.dino.reduce((a, b) => a + b, 0)} of {data.dino.length} patches hold {Math.round(view.mass * 100)} % of the map's mass{iouText('dino')}</figcaption></figure>
        {data.cst && <figure><MaskOverlay mask={data.cst.mask} grid={grid} testId="vit-cst-mask" />
          <figcaption>CST: (cos+1)/2 &gt; {view.score.toFixed(2)}, head mean{iouText('cst')}</figcaption></figure>}
      </div>
      <p className="text-xs text-slate-400">CLS-query attention over {grid[0]}×{grid[1]} patches of {patch} px, upsampled nearest (DINO's convention).
        {!refId && !truth && ' Add a segmentation model to the view (or use a gallery image, which has COCO masks) for an IoU reference.'}
        {canRollout ? ' Rollout multiplies every layer\'s full attention up to the chosen one (computed in the inference worker).' : ' Rollout needs full attention matrices, which this model does not export.'}</p>
    </section>
  );
}

const json = (value: unknown) => new Blob([JSON.stringify(value)], { type: 'application/json' });

/** Save a blob as a file (the browser's download), then free its URL. */
function download(name: string, blob: Blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

type Rollout = { row: Float32Array; engine: MathEngine; milliseconds: number; upTo: number; identity: boolean };

/**
 * The rollout row for (model, image, layer, identity), computed in the worker. While a new one is on its way
 * the last one for the same model and image stays up (its caption names the layers it covers).
 */
function useRollout(model: LoadedModel | undefined, image: ImageEntry | undefined, layer: number, identity: boolean): Rollout | null {
  const [state, setState] = useState<{ run: string; value: Rollout } | null>(null);
  const notify = useStore((s) => s.notify);
  const spec = model ? vitSelfAttention(model.contract) : null;
  const layers = spec?.shape[1] ?? 0;
  const upTo = layer < 0 || layer >= layers ? layers - 1 : layer;
  const run = model && image ? `${model.key}@${image.name}` : '';
  useEffect(() => {
    if (!model || !image) return;
    let live = true;
    rolloutModel(model, image.bitmap, run, { upTo, identity, head: 'mean' })
      .then((value) => live && setState({ run, value: { ...value, upTo, identity } }))
      .catch((e: Error) => live && notify(`rollout of ${model.key} failed: ${e.message}`));
    return () => {
      live = false;
    };
  }, [model, image, upTo, identity, run, notify]);
  return state && state.run === run ? state.value : null;
}
