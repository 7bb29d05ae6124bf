import { useEffect, useRef } from 'react';
import { perLocationCosine, tokensToChannels } from '../analysis/attention';
import type { TensorPayload } from '../inference/protocol';
import { adapterFeatures, routerWeights } from '../inference/views';
import { useStore } from '../state/store';
import { drawHeatmap } from '../viz/attention';

function CosineMap({ values, side }: { values: Float32Array; side: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawHeatmap(ref.current, values, side, side, -1, 1);
  }, [values, side]);
  return <canvas ref={ref} className="h-40 w-40" data-testid="sak-cosine" style={{ imageRendering: 'pixelated' }} />;
}

/** A teacher output as channel-major [C, n], whatever its declared layout. */
function channelMajor(t: TensorPayload): { data: Float32Array; channels: number } {
  if (t.dims.length === 3) return { data: tokensToChannels(t.data, t.dims[1], t.dims[2]), channels: t.dims[2] };
  return { data: t.data, channels: t.dims[1] };
}

/** SAK: per teacher, how similar the student's adapter path is to that teacher, location by location; router weights. */
export function SakView() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const student = models.find((m) => slots[m]?.model && adapterFeatures(slots[m]!.model!.contract).length);
  if (!student || !image) return null;
  const contract = slots[student]!.model!.contract;
  const run = results[`${student}@${image.name}`];
  if (!run) return null;
  const router = routerWeights(contract);
  const weights = router ? run.outputs[router.name]?.data : undefined;
  return (
    <section className="mt-6" data-testid="sak-view">
      <h2 className="text-lg font-semibold">SAK: one student, several teachers</h2>
      <p className="text-xs text-slate-400">Cosine per location between the student's adapter path (projected to the teacher's width) and
        the teacher's own output, both run on this image (−1…1, viridis). Add the teachers to the view to see their maps.</p>
      {router && weights && (
        <ul className="mt-2 flex gap-4 text-xs" data-testid="sak-router">
          {router.paths!.map((p, i) => (
            <li key={p} className="flex items-center gap-1">{p}
              <span className="inline-block h-2 bg-sky-400" style={{ width: `${Math.max(2, weights[i] * 120)}px` }} /> {weights[i].toFixed(3)}
            </li>
          ))}
        </ul>
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {adapterFeatures(contract).map((o) => {
          const teacherRun = results[`${o.teacher}@${image.name}`];
          const teacherOut = teacherRun?.outputs[o.teacher_output!];
          const mine = run.outputs[o.name];
          if (!teacherOut || !mine) {
            return <p key={o.name} className="text-xs text-slate-400" data-testid="sak-missing">{o.teacher}: add it to the view to compare</p>;
          }
          const t = channelMajor(teacherOut);
          const cos = perLocationCosine(mine.data, t.data, t.channels);
          const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
          return (
            <figure key={o.name} className="text-xs" data-testid={`sak-${o.teacher}`}>
              <div className="font-mono">{o.teacher} · {o.teacher_output}</div>
              <CosineMap values={cos} side={mine.dims[2]} />
              <figcaption data-testid="sak-mean">mean cosine {mean.toFixed(3)}</figcaption>
            </figure>
          );
        })}
      </div>
    </section>
  );
}
