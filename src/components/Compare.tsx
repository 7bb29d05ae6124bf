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
  useEffect(() => {
    if (!image) return;
    // Sequential: both models share one worker; the teacher's result arrives first.
    (async () => {
      for (const id of models) await analyse(id, image);
    })();
  }, [models, image]);
  const [a, b] = models;
  return (
    <section>
      <div className="flex gap-3">
        {models.map((id) => <Pane key={id} modelId={id} image={image} />)}
      </div>
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
