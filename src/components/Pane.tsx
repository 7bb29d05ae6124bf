import { select } from 'd3-selection';
import { zoom as d3zoom, zoomIdentity } from 'd3-zoom';
import { useEffect, useRef } from 'react';
import { count } from '../analysis/finiteness';
import { inputFrameOnImage } from '../analysis/geometry';
import { detectionAt } from '../analysis/queries';
import { NO_CLASS } from '../analysis/segmentation';
import { classAt, taskView } from '../app/task';
import { backendLabel } from '../inference/threads';
import { PaneExportButton } from '../share/ExportButtons';
import { useProgress } from '../state/progress';
import { runKey } from '../state/runs';
import { type ImageEntry, useStore } from '../state/store';
import { drawBoxes, drawClassMap } from '../viz/overlay';
import { DraftContractForm, DraftedNote } from './DraftContractForm';
import { useRun, useTaskResult } from './hooks';
import { ModelProgress } from './ModelProgress';
import { NonFiniteReport } from './NonFinite';
import { Photo } from './Photo';
import { RawDetail } from './RawDetail';

/** One model's view of the current image: overlay, shared pan/zoom and hover, and how it was computed. */
/** The backend a pane names: WebGPU says whether its graph is captured. */

export function Pane({ modelId, image }: { modelId: string; image: ImageEntry | undefined }) {
  const slot = useStore((s) => s.slots[modelId]);
  const run = useRun(modelId, image);
  const opacity = useStore((s) => s.view.opacity);
  const zoom = useStore((s) => s.zoom);
  const hover = useStore((s) => s.hover);
  const selection = useStore((s) => s.view.selection);
  const result = useTaskResult(modelId, image);
  const failed = useProgress((s) => (image ? s.failedRuns[runKey(modelId, image.id)] : undefined));
  const viewport = useRef<HTMLDivElement>(null);
  const mask = useRef<HTMLCanvasElement>(null);
  const boxes = useRef<SVGSVGElement>(null);
  const contract = slot?.model?.contract;
  const w = image?.width ?? 1;
  const h = image?.height ?? 1;

  useEffect(() => {
    if (!contract || !result) return;
    if (result.kind === 'segmentation' && mask.current) {
      drawClassMap(mask.current, result.classMap, result.width, result.height, contract.classes, opacity);
    }
    const selected = selection?.model === modelId && selection.block === 'one_to_one' ? selection.query : undefined;
    if (boxes.current)
      drawBoxes(boxes.current, result.kind === 'detection' ? result.detections : [], contract.classes, w, h, selected);
  }, [result, contract, opacity, w, h, selection, modelId]);

  // d3-zoom drives the shared transform; every pane mirrors it (setting d3's own state without an event).
  useEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const behaviour = d3zoom<HTMLDivElement, unknown>()
      .scaleExtent([1, 16])
      .translateExtent([
        [0, 0],
        [el.clientWidth, el.clientHeight],
      ])
      .on('zoom', (e) => {
        // kept as fractions of the pane, so a link or a finding shows the same part of the image at any size
        if (e.sourceEvent)
          useStore
            .getState()
            .setZoom({ k: e.transform.k, x: e.transform.x / el.clientWidth, y: e.transform.y / el.clientHeight });
      });
    select(el).call(behaviour);
    return () => void select(el).on('.zoom', null);
  }, []);
  useEffect(() => {
    const el = viewport.current;
    if (el)
      select(el).property(
        '__zoom',
        zoomIdentity.translate(zoom.x * el.clientWidth, zoom.y * el.clientHeight).scale(zoom.k),
      );
  }, [zoom]);

  const toImagePoint = (e: React.MouseEvent<HTMLDivElement>): [number, number] => {
    const r = e.currentTarget.getBoundingClientRect();
    return [
      ((e.clientX - r.left - zoom.x * r.width) / zoom.k / r.width) * w,
      ((e.clientY - r.top - zoom.y * r.height) / zoom.k / r.height) * h,
    ];
  };
  const onMove = (e: React.MouseEvent<HTMLDivElement>) => {
    const [x, y] = toImagePoint(e);
    useStore.getState().setHover(x >= 0 && y >= 0 && x < w && y < h ? { x, y } : null);
  };
  // A click (not a pan: d3-zoom swallows the click after a drag) on a detection selects its query.
  const onClick = (e: React.MouseEvent<HTMLDivElement>) => {
    if (result?.kind !== 'detection') return;
    const hit = detectionAt(result.detections, ...toImagePoint(e));
    if (hit) useStore.getState().setView({ selection: { model: modelId, block: 'one_to_one', query: hit.query } });
  };

  let readout = '';
  if (hover && result && contract) {
    if (result.kind === 'segmentation') {
      const k = classAt(result, hover.x, hover.y);
      readout =
        k === null
          ? 'outside the model input'
          : k === NO_CLASS
            ? 'no class: NaN logits here'
            : (contract.classes[k]?.name ?? `class ${k}`);
    } else if (result.kind === 'detection') {
      const hit = detectionAt(result.detections, hover.x, hover.y);
      readout = hit
        ? `${contract.classes[hit.classId]?.name ?? hit.classId} ${(hit.score * 100).toFixed(0)} % (query ${hit.query}; click for its attention)`
        : 'no box';
    }
  }
  const noView = contract ? taskView(contract) : null;
  let drawn = '';
  if (result?.kind === 'segmentation')
    drawn = result.unclassified
      ? `mask · ${count(result.unclassified)} pixels without a class (NaN logits), in magenta`
      : 'mask';
  else if (result?.kind === 'detection') {
    const n = result.detections.length;
    const th = `${result.threshold.toFixed(2)}${result.thresholdFrom === 'contract' ? ', its recommended' : ''}`;
    drawn = n ? `${n} box${n === 1 ? '' : 'es'} ≥ ${th}` : `no box ≥ ${th}`;
  } else if (noView?.kind === 'none') drawn = `nothing to overlay: ${noView.reason}`;
  const state = result ? 'drawn' : failed && slot?.status === 'ready' ? 'failed' : (slot?.status ?? 'idle');
  return (
    <figure
      className="min-w-0 flex-1"
      data-testid={`pane-${modelId}`}
      data-state={state}
      data-image={run?.imageId ?? ''}
    >
      <figcaption className="mb-1 flex justify-between gap-2 text-sm">
        <span className="font-mono">{modelId}</span>
        <span
          className="truncate text-slate-400"
          data-testid="pane-status"
          title={slot?.status === 'ready' && slot.model?.backend === 'wasm' ? slot.model.threadsWhy : undefined}
        >
          {slot?.status === 'fetching' && 'fetching'}
          {slot?.status === 'loading' && `loading ${Math.round(100 * (slot.progress ?? 0))} %`}
          {slot?.status === 'ready' &&
            (run
              ? `${backendLabel(slot.model!)} · ${run.milliseconds.toFixed(0)} ms · ${drawn}`
              : `${backendLabel(slot.model!)} · ${failed ? 'failed on this image' : 'running'}`)}
          {slot?.status === 'error' && 'error'}
          {slot?.status === 'draft' && 'needs a contract'}
        </span>
      </figcaption>
      <ModelProgress modelId={modelId} image={image} />
      {/* biome-ignore lint/a11y: pointer drawing surface; the ground-truth list is the keyboard path */}
      <div
        ref={viewport}
        data-testid="viewport"
        className="relative cursor-crosshair overflow-hidden bg-slate-900"
        style={{ aspectRatio: `${w} / ${h}` }}
        onMouseMove={onMove}
        onClick={onClick}
        onMouseLeave={() => useStore.getState().setHover(null)}
      >
        <div
          data-testid="layer"
          className="absolute inset-0 origin-top-left"
          style={{ transform: `translate(${100 * zoom.x}%, ${100 * zoom.y}%) scale(${zoom.k})` }}
        >
          {image && <Photo image={image} testId="photo" />}
          <canvas
            ref={mask}
            data-testid="mask"
            className="absolute"
            style={{
              ...(result?.kind === 'segmentation'
                ? inputFrameOnImage(result.placement, w, h)
                : { left: 0, top: 0, width: '100%', height: '100%' }),
              imageRendering: 'pixelated',
            }}
          />
          <svg ref={boxes} data-testid="boxes" className="absolute inset-0 h-full w-full" preserveAspectRatio="none" />
          {hover && (
            <div
              className="pointer-events-none absolute border border-white/80"
              data-testid="crosshair"
              style={{
                left: `${(hover.x / w) * 100}%`,
                top: `${(hover.y / h) * 100}%`,
                width: 6,
                height: 6,
                marginLeft: -3,
                marginTop: -3,
              }}
            />
          )}
        </div>
      </div>
      <p className="mt-1 h-5 text-xs text-slate-300" data-testid="readout">
        {hover
          ? `(${hover.x.toFixed(0)}, ${hover.y.toFixed(0)}) ${readout}`
          : 'hover to compare; wheel to zoom, drag to pan (all panes)'}
      </p>
      <PaneExportButton modelId={modelId} image={image} />
      {slot?.status === 'draft' && <DraftContractForm modelId={modelId} />}
      <DraftedNote modelId={modelId} />
      {slot?.status === 'error' && (
        <>
          <p role="alert" className="mt-1 text-sm text-red-300">
            {slot.error}
          </p>
          <RawDetail detail={slot.detail} />
        </>
      )}
      <NonFiniteReport modelId={modelId} run={run} />
      {slot?.model?.fallback && (
        <>
          <p className="mt-1 text-xs text-amber-300" data-testid="fallback">
            WASM, because {slot.model.fallback}
          </p>
          <RawDetail detail={slot.model.fallbackDetail} />
        </>
      )}
      {slot?.model?.capture && !slot.model.capture.used && (
        <>
          <p className="mt-1 text-xs text-amber-300" data-testid="capture">
            WebGPU without graph capture, because {slot.model.capture.reason}
          </p>
          <RawDetail detail={slot.model.capture.detail} />
        </>
      )}
      {slot?.model?.capture?.used && (
        <p className="mt-1 text-xs text-slate-400" data-testid="capture">
          graph capture: each run replays its captured GPU graph (warm-up{' '}
          {(slot.model.capture.warmUpMs / 1000).toFixed(1)} s at load)
        </p>
      )}
      {slot?.model?.warnings.map((w) => (
        <p key={w} className="mt-1 text-xs text-amber-300" data-testid="contract-warning">
          Contract note: {w}
        </p>
      ))}
    </figure>
  );
}
