import { useMemo } from 'react';
import { BarChart } from '../../components/charts/BarChart';
import { Heatmap } from '../../components/charts/Heatmap';
import { useCurrentImage, useModelsInView, useRuns } from '../../components/hooks';
import { NoValueNote } from '../../components/NonFinite';
import { computeSak, ROUTER_COLLAPSE_SHARE, routerCollapse } from './compute';

/** SAK: per teacher, how similar the student's adapter path is to that teacher, location by location; router weights. */
export default function SakView() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const runs = useRuns(image);
  const model = useMemo(() => computeSak(models, runs), [models, runs]);
  if (typeof model === 'string')
    return (
      <p className="text-sm text-slate-400" data-testid="view-empty">
        {model}
      </p>
    );
  const collapsed = model.router && routerCollapse(model.router);
  return (
    <>
      {collapsed && (
        <p className="mb-2 rounded bg-amber-950/60 px-2 py-1 text-xs text-amber-200" data-testid="sak-router-collapsed">
          The router has collapsed: {(100 * collapsed.share).toFixed(1)} % of its weight goes to the {collapsed.path}{' '}
          path on this image (≥ {100 * ROUTER_COLLAPSE_SHARE} %), so the other paths barely shape the output and{' '}
          {model.student} is in effect distilled from {collapsed.path} alone. The model card gives the mean over the
          test set.
        </p>
      )}
      <p className="text-xs text-slate-400">
        Cosine per location between {model.student}'s adapter path (projected to the teacher's width) and the teacher's
        own output, both run on this image (−1…1, viridis). Router: the weight the student gives each path on this
        image.
      </p>
      {model.router && (
        <ul className="mt-2 flex gap-4 text-xs" data-testid="sak-router">
          {model.router.map((p) => (
            <li key={p.path} data-weight={p.weight}>
              {p.path} {p.weight.toFixed(3)}
            </li>
          ))}
        </ul>
      )}
      {model.router && (
        <BarChart
          items={model.router.map((p) => ({ label: p.path, value: p.weight }))}
          testId="sak-router-bars"
          className="h-24 w-48"
        />
      )}
      <div className="mt-2 flex flex-wrap gap-6">
        {model.teachers.map((t) =>
          'missing' in t ? (
            <p key={t.teacher} className="text-xs text-slate-400" data-testid="sak-missing">
              {t.missing}
            </p>
          ) : (
            <figure key={t.teacher} className="text-xs" data-testid={`sak-${t.teacher}`} data-mean={t.mean}>
              <div className="font-mono">
                {t.teacher} · {t.output}
              </div>
              <Heatmap values={t.cosine} grid={t.grid} domain={[-1, 1]} testId="sak-cosine" className="h-40 w-40" />
              <NoValueNote values={t.cosine} what="locations" />
              <figcaption data-testid="sak-mean">
                {Number.isFinite(t.mean)
                  ? `mean cosine ${t.mean.toFixed(3)}`
                  : 'mean cosine not computable: NaN or infinite features'}
              </figcaption>
            </figure>
          ),
        )}
      </div>
    </>
  );
}
