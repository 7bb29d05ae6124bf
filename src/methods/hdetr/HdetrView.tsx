import { useEffect, useMemo, useRef } from 'react';
import type { GtObject } from '../../analysis/groundTruth';
import { detectionAt } from '../../analysis/queries';
import { useGalleryCoco } from '../../app/gallery';
import { Heatmap } from '../../components/charts/Heatmap';
import { useCurrentImage, useRuns } from '../../components/hooks';
import { imageBox, Photo } from '../../components/Photo';
import { useGroundTruthStore } from '../../state/groundTruth';
import type { Run } from '../../state/runs';
import type { ImageEntry } from '../../state/store';
import { useStore } from '../../state/store';
import type { QuerySelection } from '../../state/viewState';
import { drawAssignment } from '../../viz/detr';
import { useDetectors, useGroundTruth, usePseudoModel } from '../detr/hooks';
import type { ModelInView } from '../types';
import { computeAssignment } from './compute';
import { type HdetrSettings, MAX_K } from './index';

/** H-DETR: one-to-one vs one-to-many assignment of objects to queries, the cost matrix, unassigned queries. */
export default function HdetrView() {
  const image = useCurrentImage();
  const settings = useStore((s) => s.view.methods.hdetr);
  const setMethod = useStore((s) => s.setMethod);
  const selection = useStore((s) => s.view.selection);
  const detectors = useDetectors();
  const runs = useRuns(image);
  const gt = useGroundTruth(image);
  const gtName = useGroundTruthNames(gt?.kind);
  if (!image || !gt) return null;
  const set = (patch: Partial<HdetrSettings>) => setMethod('hdetr', patch);
  const { weights, k, mode } = settings;
  return (
    <>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label>
          <input type="radio" data-testid="mode-o2o" checked={mode === 'o2o'} onChange={() => set({ mode: 'o2o' })} />{' '}
          one-to-one (Hungarian)
        </label>
        <label>
          <input type="radio" data-testid="mode-o2m" checked={mode === 'o2m'} onChange={() => set({ mode: 'o2m' })} />{' '}
          one-to-many (objects × K)
        </label>
        <label>
          K{' '}
          <input
            data-testid="k"
            type="range"
            min={1}
            max={MAX_K}
            value={k}
            onChange={(e) => set({ k: Number(e.target.value) })}
          />{' '}
          {k}
        </label>
        {(['cls', 'l1', 'giou'] as const).map((key) => (
          <label key={key}>
            w_{key}{' '}
            <input
              data-testid={`w-${key}`}
              type="number"
              step={0.5}
              min={0}
              value={weights[key]}
              className="w-14 bg-slate-800 p-1"
              onChange={(e) => {
                const v = Number(e.target.value);
                if (e.target.value !== '' && Number.isFinite(v) && v >= 0) set({ weights: { ...weights, [key]: v } });
              }}
            />
          </label>
        ))}
      </div>
      <p className="text-xs text-slate-400">
        Objects: {gt.label} ({gt.objects.length}). Cost = w_cls·focal class cost + w_l1·‖b−b̂‖₁ + w_giou·(−GIoU), boxes
        (cx, cy, w, h) normalised to each model's input (as it was trained). One-to-many uses the model's one-to-many
        query block when it exports one, else its one-to-one queries. Click a predicted box to see its query's
        cross-attention.
      </p>
      {gt.objects.length === 0 && (
        <p className="text-sm text-amber-300" data-testid="hdetr-no-objects">
          No objects to assign on this image ({gt.label}): every query is unassigned. Draw boxes in the ground-truth
          editor, or import a COCO file.
        </p>
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {detectors.map((m) =>
          runs[m.id] ? (
            <AssignmentPanel
              key={m.id}
              model={m}
              run={runs[m.id]}
              image={image}
              gt={gt.objects}
              settings={settings}
              gtName={gtName}
              selected={selection?.model === m.id ? selection : null}
            />
          ) : (
            <p key={m.id} className="text-xs text-slate-400">
              {m.id}: waiting for its run…
            </p>
          ),
        )}
      </div>
    </>
  );
}

function AssignmentPanel({
  model,
  run,
  image,
  gt,
  settings,
  gtName,
  selected,
}: {
  model: ModelInView;
  run: Run;
  image: ImageEntry;
  gt: GtObject[];
  settings: HdetrSettings;
  gtName: (classId: number) => string | undefined;
  selected: QuerySelection | null;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const result = useMemo(
    () => computeAssignment(model.contract, run, gt, settings, gtName),
    [model, run, gt, settings, gtName],
  );
  const W = run.width;
  const H = run.height;
  useEffect(() => {
    if (typeof result === 'string' || !svg.current) return;
    drawAssignment(
      svg.current,
      result,
      model.contract.classes,
      W,
      H,
      selected?.block === result.block ? selected.query : null,
    );
  }, [result, model, W, H, selected]);
  if (typeof result === 'string')
    return (
      <p className="text-xs text-amber-300" data-testid={`hdetr-${model.id}`}>
        {model.id}: {result}
      </p>
    );
  // A click picks the assigned query whose predicted box is under it (the smallest, if boxes nest).
  const onClick = (e: React.MouseEvent<SVGSVGElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * W;
    const y = ((e.clientY - r.top) / r.height) * H;
    const assigned = [...result.predicted].map(([query, b]) => ({ ...b, query, score: 0, classId: 0 }));
    const hit = detectionAt(assigned, x, y);
    if (hit) useStore.getState().setView({ selection: { model: model.id, block: result.block, query: hit.query } });
  };
  const g = Math.max(1, result.objects.length);
  return (
    <figure className="text-xs" data-testid={`hdetr-${model.id}`}>
      <div className="font-mono">
        {model.id} ·{' '}
        {result.block === 'one_to_many'
          ? `one-to-many block (${result.queries} queries, trained with K=${result.trainedK ?? '?'})`
          : `one-to-one block (${result.queries} queries)`}
      </div>
      <div className="flex gap-2">
        <div className="relative overflow-hidden" style={imageBox(image, 256)}>
          <Photo image={image} />
          {/* biome-ignore lint/a11y: a pointer shortcut; the query list below is the keyboard path */}
          <svg
            ref={svg}
            className="absolute inset-0 h-full w-full cursor-pointer"
            preserveAspectRatio="none"
            data-testid="links"
            onClick={onClick}
          />
        </div>
        {result.objects.length > 0 && (
          <Heatmap
            values={Float32Array.from(result.cost)}
            grid={[result.queries, g]}
            testId="cost-matrix"
            marks={result.pairs}
            className="h-64 w-16"
            title="cost matrix: queries (rows) × objects (columns); outlined: the assignment"
          />
        )}
      </div>
      <figcaption data-testid="assignment">
        {result.pairs.length} links · {result.assigned} of {result.queries} queries assigned ·{' '}
        {result.queries - result.assigned} unassigned
      </figcaption>
      {result.notes.map((n) => (
        <p key={n} className="max-w-md text-amber-300" data-testid="hdetr-note">
          {n}
        </p>
      ))}
    </figure>
  );
}

/**
 * The ground truth's own names for its class ids, for the notes: the COCO file's categories (gallery or
 * imported), else the classes of the model whose detections or class list the boxes were made with.
 */
function useGroundTruthNames(kind: string | undefined): (classId: number) => string | undefined {
  const coco = useGalleryCoco();
  const imported = useGroundTruthStore((s) => s.imported);
  const pseudo = usePseudoModel();
  const classes = useStore((s) => (pseudo ? s.slots[pseudo]?.model?.contract.classes : undefined));
  return useMemo(() => {
    const categories = kind === 'gallery' ? coco?.categories : kind === 'imported' ? imported?.coco.categories : null;
    if (categories) {
      // An imported file's category may have been mapped onto the model's class of the same name.
      const byModelName = (id: number) => {
        const name = classes?.find((c) => c.id === id)?.name.toLowerCase();
        return name ? categories.find((c) => c.name.toLowerCase() === name)?.name : undefined;
      };
      return (id) => (kind === 'imported' ? byModelName(id) : undefined) ?? categories.find((c) => c.id === id)?.name;
    }
    return (id) => classes?.find((c) => c.id === id)?.name;
  }, [kind, coco, imported, classes]);
}
