import { useEffect, useMemo, useState } from 'react';
import { cocoForeground } from '../../analysis/cocoMasks';
import { inputFrameOnImage } from '../../analysis/geometry';
import { patchMaskToImage } from '../../analysis/patchMask';
import { cocoMaskDocument } from '../../analysis/rle';
import { download, json } from '../../app/download';
import { useGalleryCoco } from '../../app/gallery';
import { Heatmap } from '../../components/charts/Heatmap';
import { useCurrentImage, useModelsInView, useRun, useTaskResult } from '../../components/hooks';
import { imageBox, Photo } from '../../components/Photo';
import { Slider } from '../../components/Slider';
import { type LoadedModel, rolloutModel } from '../../inference/models';
import type { MathEngine } from '../../inference/protocol';
import type { Run } from '../../state/runs';
import { type ImageEntry, useStore } from '../../state/store';
import { drawPatchMask } from '../../viz/attention';
import { computeVit, type VitModel } from './compute';
import { vitAttention, vitSelfAttention } from './index';

/** A patch mask over the image: kept patches clear, the rest dimmed (nearest upsampling, DINO's convention). */
function MaskOverlay({
  mask,
  grid,
  image,
  run,
  testId,
}: {
  mask: Uint8Array;
  grid: [number, number];
  image: ImageEntry;
  run: Run;
  testId: string;
}) {
  const box = imageBox(image, 160);
  return (
    <div className="relative overflow-hidden" style={box}>
      <Photo image={image} />
      <canvas
        data-testid={testId}
        className="absolute"
        style={{ ...inputFrameOnImage(run.placement, run.width, run.height), imageRendering: 'pixelated' }}
        ref={(c) => {
          if (c) drawPatchMask(c, mask, grid);
        }}
      />
    </div>
  );
}

/** ViT attention → pseudo-masks: per-head CLS maps, head mean or rollout, DINO and CST masks with thresholds, IoU. */
export default function VitView() {
  const settings = useStore((s) => s.view.methods.vit);
  const setVit = useStore((s) => s.setMethod);
  const image = useCurrentImage();
  const models = useModelsInView();
  const vitModel = models.find((m) => vitAttention(m.contract));
  const refModel = models.find(
    (m) => m !== vitModel && m.contract.outputs.some((o) => o.role === 'segmentation_logits'),
  );
  const id = vitModel?.id;
  const slot = useStore((s) => (id ? s.slots[id] : undefined));
  const run = useRun(id, image);
  const reference = useTaskResult(refModel?.id, image);
  const coco = useGalleryCoco();
  const truth = useMemo(() => (image?.source === 'gallery' ? cocoForeground(coco, image.name) : null), [coco, image]);
  const canRollout = !!(vitModel && vitSelfAttention(vitModel.contract));
  const rollout = useRollout(
    run && canRollout && settings.map === 'rollout' ? slot?.model : undefined,
    image,
    settings.layer,
    settings.identity,
  );
  const model = useMemo(
    () =>
      vitModel && run
        ? computeVit({
            contract: vitModel.contract,
            run,
            settings,
            rollout,
            truth,
            reference: reference?.kind === 'segmentation' && refModel ? { id: refModel.id, map: reference } : null,
          })
        : null,
    [vitModel, run, settings, rollout, truth, reference, refModel],
  );
  if (!vitModel || !image) return null;
  if (!run || !model)
    return (
      <p className="text-sm text-slate-400" data-testid="view-waiting">
        waiting for {vitModel.id} to run on this image…
      </p>
    );
  if (typeof model === 'string')
    return (
      <p className="text-sm text-amber-300" data-testid="view-empty">
        {vitModel.id}: {model}
      </p>
    );
  const set = (patch: Partial<typeof settings>) => setVit('vit', patch);
  const iouText = (which: 'dino' | 'cst') =>
    [
      model.truthIoU &&
        model.truthIoU[which] !== null &&
        `IoU ${(100 * model.truthIoU[which]!).toFixed(1)} % vs ground truth (${model.truthIoU.objects} COCO masks)`,
      model.referenceIoU &&
        model.referenceIoU[which] !== null &&
        `IoU ${(100 * model.referenceIoU[which]!).toFixed(1)} % vs ${model.referenceIoU.id}'s foreground`,
    ]
      .filter(Boolean)
      .map((t) => ` · ${t}`)
      .join('');
  const dinoCount = model.dino.reduce((a, b) => a + b, 0);
  return (
    <>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <span className="font-mono">{vitModel.id}</span>
        <label>
          layer{' '}
          <select
            data-testid="vit-layer"
            className="bg-slate-800 p-1"
            value={model.layer}
            onChange={(e) => set({ layer: Number(e.target.value) })}
          >
            {Array.from({ length: model.layers }, (_, l) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the index is the layer number
              <option key={l} value={l}>
                {l}
                {l === model.layers - 1 ? ' (last)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          DINO mass{' '}
          <Slider
            testId="vit-mass"
            min={0.05}
            max={0.95}
            step={0.05}
            value={settings.mass}
            onChange={(mass) => set({ mass })}
          />{' '}
          {settings.mass.toFixed(2)}
        </label>
        {model.cst && (
          <label>
            CST score{' '}
            <Slider
              testId="vit-score"
              min={0}
              max={1}
              step={0.01}
              value={settings.score}
              onChange={(score) => set({ score })}
            />{' '}
            {settings.score.toFixed(2)}
          </label>
        )}
        <label
          title={
            canRollout
              ? "Abnar & Zuidema: multiply the layers' head-mean attention, each with the residual as ½A + ½I"
              : 'this model exports only CLS rows, not the full attention rollout needs'
          }
        >
          map{' '}
          <select
            data-testid="vit-map"
            className="bg-slate-800 p-1"
            value={canRollout ? settings.map : 'cls'}
            disabled={!canRollout}
            onChange={(e) => set({ map: e.target.value as 'cls' | 'rollout' })}
          >
            <option value="cls">CLS attention (this layer)</option>
            <option value="rollout">attention rollout (layers 0…this)</option>
          </select>
        </label>
        {canRollout && settings.map === 'rollout' && (
          <label>
            <input
              type="checkbox"
              data-testid="vit-identity"
              checked={settings.identity}
              onChange={(e) => set({ identity: e.target.checked })}
            />{' '}
            identity term
          </label>
        )}
        <button
          type="button"
          className="rounded bg-slate-800 px-2 py-1"
          data-testid="vit-export-png"
          onClick={() => exportPng(model, image, vitModel.id)}
        >
          export DINO mask (PNG)
        </button>
        <button
          type="button"
          className="rounded bg-slate-800 px-2 py-1"
          data-testid="vit-export-rle"
          onClick={() => exportRle(model, image, run, vitModel.id, settings.mass)}
        >
          Export COCO RLE
        </button>
        <button
          type="button"
          className="rounded bg-slate-800 px-2 py-1"
          data-testid="vit-export-map"
          onClick={() =>
            download(
              `${image.name}.${vitModel.id}.${rollout ? 'rollout' : 'cls'}-map.json`,
              json({
                model: vitModel.id,
                image: image.name,
                imageId: image.id,
                map: model.mapName,
                layer: model.layer,
                grid: model.grid,
                patch: model.patch,
                values: Array.from(model.mean),
              }),
            )
          }
        >
          export map (JSON)
        </button>
      </div>
      <div className="mt-2 flex flex-wrap gap-2 text-xs">
        {model.perHead.map((row, h) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the index is the head number
          <figure key={h}>
            <Heatmap values={row} grid={model.grid} testId="vit-head" />
            <figcaption>head {h}</figcaption>
          </figure>
        ))}
        <figure>
          <Heatmap values={model.mean} grid={model.grid} testId="vit-map-heat" />
          <figcaption data-testid="vit-map-caption">
            {model.mapName}
            {rollout && (
              <>
                {' '}
                · {rollout.engine === 'webgpu' ? "GPU (tfjs on onnxruntime's WebGPU device)" : 'CPU'},{' '}
                {rollout.milliseconds.toFixed(1)} ms
              </>
            )}
          </figcaption>
        </figure>
        <figure>
          <MaskOverlay mask={model.dino} grid={model.grid} image={image} run={run} testId="vit-dino-mask" />
          <figcaption data-testid="vit-dino-caption">
            DINO: {dinoCount} of {model.dino.length} patches hold {Math.round(settings.mass * 100)} % of the map's mass
            {iouText('dino')}
          </figcaption>
        </figure>
        {model.cst && (
          <figure>
            <MaskOverlay mask={model.cst} grid={model.grid} image={image} run={run} testId="vit-cst-mask" />
            <figcaption>
              CST: (cos+1)/2 &gt; {settings.score.toFixed(2)}, head mean{iouText('cst')}
            </figcaption>
          </figure>
        )}
      </div>
      <p className="text-xs text-slate-400">
        CLS-query attention over {model.grid[0]}×{model.grid[1]} patches of {model.patch} px, upsampled nearest (DINO's
        convention), placed on the image as the model saw it.
        {!refModel &&
          !truth &&
          ' No IoU: add a segmentation model to the view, or use a gallery image (which has COCO masks).'}
        {canRollout
          ? " Rollout multiplies every layer's full attention up to the chosen one (computed in the inference worker)."
          : ' Rollout needs full attention matrices, which this model does not export.'}
      </p>
    </>
  );
}

function exportPng(model: VitModel, image: ImageEntry, id: string) {
  const { grid, patch, dino } = model;
  const c = document.createElement('canvas');
  c.width = grid[1] * patch;
  c.height = grid[0] * patch;
  const ctx = c.getContext('2d')!;
  dino.forEach((m, i) => {
    ctx.fillStyle = m ? '#fff' : '#000';
    ctx.fillRect((i % grid[1]) * patch, Math.floor(i / grid[1]) * patch, patch, patch);
  });
  c.toBlob((png) => png && download(`${image.name}.${id}.dino-mask.png`, png), 'image/png');
}

/** The DINO pseudo-mask at the image's own resolution as a COCO annotation (compressed RLE, area, bbox). */
function exportRle(model: VitModel, image: ImageEntry, run: Run, id: string, mass: number) {
  const mask = patchMaskToImage(model.dino, model.grid, model.patch, run.width, run.height, run.placement);
  const doc = cocoMaskDocument({
    mask,
    width: run.width,
    height: run.height,
    fileName: image.name,
    category: 'foreground',
    description: `AttnLens DINO pseudo-mask of ${id}: ${model.mapName}, ${Math.round(mass * 100)} % of the attention mass`,
  });
  download(`${image.name}.${id}.dino-mask.coco.json`, json(doc));
}

type Rollout = { row: Float32Array; engine: MathEngine; milliseconds: number; upTo: number; identity: boolean };

/**
 * The rollout row for (model, image, layer, identity), computed in the worker. While a new one is on its way
 * the last one for the same model and image stays up (its caption names the layers it covers).
 */
function useRollout(
  model: LoadedModel | undefined,
  image: ImageEntry | undefined,
  layer: number,
  identity: boolean,
): Rollout | null {
  const [state, setState] = useState<{ run: string; value: Rollout } | null>(null);
  const [failed, setFailed] = useState<Error | null>(null);
  const spec = model ? vitSelfAttention(model.contract) : null;
  const layers = spec?.shape[1] ?? 0;
  const upTo = layer < 0 || layer >= layers ? layers - 1 : layer;
  const run = model && image ? `${model.key}@${image.id}` : '';
  useEffect(() => {
    if (!model || !image) return;
    let live = true;
    rolloutModel(model, image, spec!.name, { upTo, identity, head: 'mean' })
      .then((value) => live && setState({ run, value: { ...value, upTo, identity } }))
      .catch((e: Error) => live && setFailed(e));
    return () => {
      live = false;
    };
  }, [model, image, upTo, identity, run, spec]);
  if (failed) throw new Error(`rollout of ${model?.key} failed: ${failed.message}`); // the view's boundary shows it
  return state && state.run === run ? state.value : null;
}
