import { useEffect, useMemo, useRef } from 'react';
import { inputFrameOnImage } from '../analysis/geometry';
import { disagreementOf, type Disagreement as Found } from '../app/disagreement';
import type { ImageEntry } from '../state/store';
import { drawDisagreementBoxes, drawDisagreementMap } from '../viz/overlay';
import { useCurrentImage, useModelsInView, useTaskResult } from './hooks';
import { Photo } from './Photo';

/** Where each model disagrees with the reference (the first teacher, else the first model) on this image. */
export function Disagreement() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const reference = models.find((m) => m.contract.model.role === 'teacher') ?? models[0];
  if (!image || !reference || models.length < 2) return null;
  return (
    <details className="mt-3" open data-testid="disagreement">
      <summary className="cursor-pointer text-sm text-slate-300">Where they disagree with {reference.id}</summary>
      <div className="mt-2 flex flex-wrap gap-3">
        {models
          .filter((m) => m.id !== reference.id)
          .map((m) => (
            <DisagreementFigure key={m.id} image={image} referenceId={reference.id} modelId={m.id} />
          ))}
      </div>
    </details>
  );
}

function DisagreementFigure({
  image,
  referenceId,
  modelId,
}: {
  image: ImageEntry;
  referenceId: string;
  modelId: string;
}) {
  const reference = useTaskResult(referenceId, image);
  const model = useTaskResult(modelId, image);
  const found = useMemo(
    () => disagreementOf(reference, model, image.width, image.height),
    [reference, model, image.width, image.height],
  );
  const canvas = useRef<HTMLCanvasElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (found.kind === 'pixels' && canvas.current)
      drawDisagreementMap(canvas.current, found.map, found.width, found.height);
    if (svg.current)
      drawDisagreementBoxes(
        svg.current,
        found.kind === 'boxes' ? found.onlyReference : [],
        found.kind === 'boxes' ? found.onlyModel : [],
        image.width,
        image.height,
      );
  }, [found, image.width, image.height]);
  return (
    <figure className="w-56 text-xs" data-testid="disagreement-figure" data-model={modelId} data-kind={found.kind}>
      <div className="relative bg-slate-900" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
        <Photo image={image} />
        <canvas
          ref={canvas}
          className="absolute"
          style={{
            ...(found.kind === 'pixels'
              ? inputFrameOnImage(found.placement, image.width, image.height)
              : { left: 0, top: 0, width: '100%', height: '100%' }),
            imageRendering: 'pixelated',
          }}
        />
        <svg ref={svg} className="absolute inset-0 h-full w-full" preserveAspectRatio="none" />
      </div>
      <figcaption className="mt-1 text-slate-400" data-testid="disagreement-caption">
        {caption(found, referenceId, modelId)}
      </figcaption>
    </figure>
  );
}

function caption(found: Found, referenceId: string, modelId: string): string {
  if (found.kind === 'none') return `${modelId}: ${found.reason}`;
  if (found.kind === 'pixels')
    return `${modelId}: ${found.compared ? ((100 * found.differ) / found.compared).toFixed(1) : '0.0'} % of the compared pixels have another class than in ${referenceId} (red)`;
  return `${modelId}: ${found.onlyReference.length} box${found.onlyReference.length === 1 ? '' : 'es'} only ${referenceId} has (red, dashed), ${found.onlyModel.length} only ${modelId} has (amber)`;
}
