import { useEffect } from 'react';
import { boxAgreement } from '../analysis/boxes';
import { maskAgreement } from '../analysis/segmentation';
import { analyse } from '../app/controller';
import { useStore } from '../state/store';
import { Pane, usePaneResult } from './Pane';

/** Teacher | student side by side on the current image, with the plain numbers between them. */
export function Compare() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  // Models whose session is gone (a backend switch) must load and run again; analyse() skips done work.
  const unloaded = useStore((s) => models.filter((id) => !s.slots[id]).join(','));
  useEffect(() => {
    if (!image) return;
    // Sequential: the models share one worker; the teacher's result arrives first.
    (async () => {
      for (const id of models) await analyse(id, image);
    })();
  }, [models, image, unloaded]);
  const [a, b] = models;
  return (
    <section>
      <div className="flex gap-3">
        {models.map((id) => <Pane key={id} modelId={id} image={image} />)}
      </div>
      <Legend modelId={models[0]} />
      {a && b && <Agreement reference={a} other={b} />}
    </section>
  );
}

function Agreement({ reference, other }: { reference: string; other: string }) {
  const image = useStore((s) => s.images[s.current]);
  const ra = usePaneResult(reference, image);
  const rb = usePaneResult(other, image);
  if (!ra || !rb) return null;
  let text = '';
  if (ra.kind === 'segmentation' && rb.kind === 'segmentation' && ra.classMap.length === rb.classMap.length) {
    const m = maskAgreement(ra.classMap, rb.classMap, 256);
    text = `mask mIoU of ${other} against ${reference}: ${(100 * m.miou).toFixed(1)} % (pixel agreement ${(100 * m.pixelAgreement).toFixed(1)} %)`;
  } else if (ra.kind === 'detection' && rb.kind === 'detection') {
    const f = boxAgreement(ra.detections, rb.detections, 0.5);
    text = `box agreement F1 @ IoU 0.5 of ${other} against ${reference}: ${(100 * f.f1).toFixed(1)} % (${f.matched} matched)`;
  } else {
    text = 'these two models have different tasks: no agreement number';
  }
  return <p className="mt-3 text-sm" data-testid="agreement">{text}</p>;
}

/** Class colours as the overlays use them (from the model's contract), with the overlay opacity. */
function Legend({ modelId }: { modelId: string | undefined }) {
  const contract = useStore((s) => (modelId ? s.slots[modelId]?.model?.contract : undefined));
  const opacity = useStore((s) => s.view.opacity);
  if (!contract) return null;
  return (
    <ul className="mt-2 flex flex-wrap gap-3 text-xs" data-testid="legend">
      {contract.classes.filter((c) => c.id > 0).map((c) => (
        <li key={c.id} className="flex items-center gap-1">
          <span className="inline-block h-3 w-3 rounded-sm" style={{ background: c.color, opacity }} />{c.name}
        </li>
      ))}
      <li className="text-slate-500">masks: argmax of the logits at model resolution, nearest-neighbour upscaled; boxes: one-to-one queries above the threshold</li>
    </ul>
  );
}
