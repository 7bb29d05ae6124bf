import { useEffect, useMemo, useRef } from 'react';
import { interpret, taskView, type TaskResult } from '../inference/task';
import { useStore, type ImageEntry } from '../state/store';
import { drawBoxes, drawClassMap } from '../viz/overlay';

/** One model's view of the current image: the image, its overlay, and how it was computed. */
export function usePaneResult(modelId: string, image: ImageEntry | undefined): TaskResult | null {
  const slot = useStore((s) => s.slots[modelId]);
  const run = useStore((s) => (image ? s.results[`${modelId}@${image.name}`] : undefined));
  const threshold = useStore((s) => s.view.threshold);
  return useMemo(() => {
    if (!run || !slot?.model || !image) return null;
    return interpret(taskView(slot.model.contract), run.outputs, image.bitmap.width, image.bitmap.height, threshold);
  }, [run, slot, image, threshold]);
}

export function Pane({ modelId, image }: { modelId: string; image: ImageEntry | undefined }) {
  const slot = useStore((s) => s.slots[modelId]);
  const run = useStore((s) => (image ? s.results[`${modelId}@${image.name}`] : undefined));
  const opacity = useStore((s) => s.view.opacity);
  const result = usePaneResult(modelId, image);
  const photo = useRef<HTMLCanvasElement>(null);
  const mask = useRef<HTMLCanvasElement>(null);
  const boxes = useRef<SVGSVGElement>(null);

  useEffect(() => {
    if (!image || !photo.current) return;
    photo.current.width = image.bitmap.width;
    photo.current.height = image.bitmap.height;
    photo.current.getContext('2d')!.drawImage(image.bitmap, 0, 0);
  }, [image]);
  useEffect(() => {
    const contract = slot?.model?.contract;
    if (!contract || !result) return;
    if (result.kind === 'segmentation' && mask.current) {
      drawClassMap(mask.current, result.classMap, result.width, result.height, contract.classes, opacity);
    }
    if (boxes.current && image) {
      drawBoxes(boxes.current, result.kind === 'detection' ? result.detections : [], contract.classes, image.bitmap.width, image.bitmap.height);
    }
  }, [result, slot, opacity, image]);

  const contract = slot?.model?.contract;
  const noView = contract ? taskView(contract) : null;
  const drawn = result?.kind === 'segmentation' ? 'mask' : result?.kind === 'detection' ? `${result.detections.length} boxes`
    : noView?.kind === 'none' ? `nothing to overlay: ${noView.reason}` : '';
  return (
    <figure className="flex-1 min-w-0" data-testid={`pane-${modelId}`} data-state={result ? 'drawn' : slot?.status ?? 'idle'}>
      <figcaption className="mb-1 flex justify-between text-sm">
        <span className="font-mono">{modelId}</span>
        <span className="text-slate-400" data-testid="pane-status">
          {slot?.status === 'loading' && `loading ${Math.round(100 * (slot.progress ?? 0))} %`}
          {slot?.status === 'ready' && (run ? `${slot.model!.backend} · ${run.milliseconds.toFixed(0)} ms · ${drawn}` : `${slot.model!.backend} · running`)}
          {slot?.status === 'error' && 'error'}
        </span>
      </figcaption>
      <div className="relative bg-slate-900" style={{ aspectRatio: image ? `${image.bitmap.width} / ${image.bitmap.height}` : '1' }}>
        <canvas ref={photo} className="absolute inset-0 h-full w-full" style={{ imageRendering: 'pixelated' }} />
        <canvas ref={mask} data-testid="mask" className="absolute inset-0 h-full w-full" style={{ imageRendering: 'pixelated' }} />
        <svg ref={boxes} data-testid="boxes" className="absolute inset-0 h-full w-full" preserveAspectRatio="none" />
      </div>
      {slot?.status === 'error' && <p role="alert" className="mt-1 text-sm text-red-300">{slot.error}</p>}
      {slot?.model?.fallback && <p className="mt-1 text-xs text-amber-300">WASM, because {slot.model.fallback}</p>}
    </figure>
  );
}
