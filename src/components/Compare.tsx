import { useMemo } from 'react';
import { computeAgreements } from '../app/agreement';
import { useGalleryCoco } from '../app/gallery';
import { imageTruth } from '../app/imageTruth';
import { interpret } from '../app/task';
import { ViewExportButtons } from '../share/ExportButtons';
import { useGroundTruthStore } from '../state/groundTruth';
import { useStore } from '../state/store';
import { Disagreement } from './Disagreement';
import { Guard } from './Guard';
import { useCurrentImage, useModelsInView, useRuns } from './hooks';
import { Pane } from './Pane';

/** Teacher | students side by side on the current image, with role-aware numbers under them. */
export function Compare() {
  const ids = useStore((s) => s.view.models);
  const image = useCurrentImage();
  return (
    <section>
      {!image && (
        <p className="text-sm text-slate-400" data-testid="no-image">
          No image open: pick a gallery sample, or drop your own images anywhere on the page.
        </p>
      )}
      <div className="flex gap-3">
        {ids.map((id) => (
          <Guard key={id} what={`The ${id} pane`} resetKeys={[image?.id]}>
            <Pane modelId={id} image={image} />
          </Guard>
        ))}
      </div>
      <Guard what="The legend" resetKeys={[ids]}>
        <Legend />
      </Guard>
      <Guard what="The agreement numbers" resetKeys={[image?.id, ids]}>
        <Agreement />
      </Guard>
      <ViewExportButtons />
      <Guard what="The disagreement overlay" resetKeys={[image?.id, ids]}>
        <Disagreement />
      </Guard>
    </section>
  );
}

function Agreement() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const runs = useRuns(image);
  const threshold = useStore((s) => s.view.threshold);
  const coco = useGalleryCoco();
  const drawn = useGroundTruthStore((s) => (image ? s.drawn[image.id] : undefined));
  const rows = useMemo(() => {
    if (!image) return [];
    const truth = imageTruth(image, drawn, coco);
    const results = models.map((m) => ({
      id: m.id,
      contract: m.contract,
      result: runs[m.id] ? interpret(m.contract, runs[m.id], threshold) : null,
    }));
    return computeAgreements(results, image.width, image.height, truth);
  }, [image, models, runs, threshold, coco, drawn]);
  if (!image || models.length < 1) return null;
  if (models.length === 1 && !rows.length)
    return (
      <p className="mt-3 text-sm text-slate-400" data-testid="agreement-one">
        One model in view: add a student or teacher to compare.
      </p>
    );
  return (
    <ul className="mt-3 space-y-1 text-sm" data-testid="agreements">
      {rows.map((r) => (
        <li
          key={`${r.model}|${r.against}`}
          data-testid="agreement"
          data-model={r.model}
          data-against={r.against}
          data-value={r.value ?? ''}
        >
          {r.text}
        </li>
      ))}
    </ul>
  );
}

/** Class colours as the overlays use them (from the first model's contract), with the overlay opacity. */
function Legend() {
  const models = useModelsInView();
  const opacity = useStore((s) => s.view.opacity);
  const contract = models[0]?.contract;
  if (!contract) return null;
  return (
    <ul className="mt-2 flex flex-wrap gap-3 text-xs" data-testid="legend">
      {contract.classes
        .filter((c) => c.id > 0)
        .map((c) => (
          <li key={c.id} className="flex items-center gap-1">
            <span className="inline-block h-3 w-3 rounded-sm" style={{ background: c.color, opacity }} />
            {c.name}
          </li>
        ))}
      <li className="text-slate-500">
        masks: argmax of the logits at model resolution, nearest-neighbour upscaled; boxes: one-to-one queries above
        each detector's threshold
      </li>
    </ul>
  );
}
