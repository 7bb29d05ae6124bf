/** Evaluate mode: run the models in view over every open image; summary, ranking table, export and re-open. */
import { memo, useDeferredValue, useMemo } from 'react';
import { download, json } from '../app/download';
import { Heatmap } from '../components/charts/Heatmap';
import { sha256Hex } from '../share/viewDocument';
import { findImage, useStore } from '../state/store';
import { NO_BOX, type ResultsDocument, readResults, TRUTH } from './results';
import { cancelEvaluation, runEvaluation } from './runner';
import { useEvaluateStore } from './store';
import {
  failureTotals,
  filterRows,
  METRIC_NAMES,
  MISSED,
  meanLatency,
  methodMeans,
  type SortKey,
  sortRows,
  summaryText,
  tableOf,
  worstAgreement,
} from './table';

const SHOWN = 200;

export function EvaluateView() {
  const images = useStore((s) => s.images);
  const models = useStore((s) => s.view.models);
  const { status, doc: latest, source, notes } = useEvaluateStore();
  // The tables of a large set take a while to render: rendered from a deferred copy, in an interruptible render,
  // so no main-thread task runs long when a run ends or a file opens.
  const doc = useDeferredValue(latest);
  return (
    <section className="mt-4 space-y-4" data-testid="evaluate">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span>
          {images.length} image{images.length === 1 ? '' : 's'} open × {models.length} model
          {models.length === 1 ? '' : 's'} in view ({models.join(', ')}). Drop a folder or a COCO file to add more.
        </span>
        {status === 'running' ? (
          <button
            type="button"
            className="rounded bg-slate-700 px-2 py-1"
            data-testid="evaluate-cancel"
            onClick={cancelEvaluation}
          >
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="rounded bg-sky-700 px-2 py-1 disabled:opacity-40"
            data-testid="evaluate-run"
            disabled={!images.length || !models.length}
            onClick={() => void runEvaluation()}
          >
            Evaluate
          </button>
        )}
        {doc && status !== 'running' && (
          <button
            type="button"
            className="rounded bg-slate-700 px-2 py-1"
            data-testid="evaluate-export"
            onClick={() => download('attnlens-results.json', json(doc))}
          >
            Export results
          </button>
        )}
        <OpenResults />
      </div>
      <Progress />
      {source && (
        <p className="text-sm text-slate-400" data-testid="results-source">
          Showing {source}, computed by {doc?.producer.name} ({doc?.producer.runtime}).
        </p>
      )}
      {notes.map((n) => (
        <p key={n} className="text-sm text-amber-300" data-testid="results-note">
          {n}
        </p>
      ))}
      {doc && <Summary doc={doc} />}
      {doc && <FailureTotals doc={doc} />}
      {doc && <MethodMeans doc={doc} />}
      {doc?.per_class?.length ? <PerClass doc={doc} /> : null}
      {doc?.maps?.length ? <MeanMapsView doc={doc} /> : null}
      {doc && <Ranking doc={doc} />}
    </section>
  );
}

function OpenResults() {
  return (
    <label className="cursor-pointer rounded bg-slate-700 px-2 py-1">
      Open results file…
      <input
        type="file"
        accept=".json,application/json"
        className="hidden"
        data-testid="results-file"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          const text = await file.text();
          const r = readResults(text, file.name);
          if (!r.ok) {
            useStore.getState().notify(`${r.problem}. Pick a file AttnLens exported (Export results).`);
            return;
          }
          const open = new Set(useStore.getState().images.map((i) => i.id));
          const absent = r.doc.images.filter((i) => !open.has(i.id)).length;
          const notes = [...r.notes];
          if (absent)
            notes.push(
              `${absent} of its ${r.doc.images.length} images are not open in this tab: their rows and the summary show, their pictures do not (drop the images to see them)`,
            );
          const docHash = await sha256Hex(text);
          useEvaluateStore.setState({
            doc: r.doc,
            docHash,
            source: file.name,
            notes,
            status: 'idle',
            done: 0,
            total: 0,
          });
        }}
      />
    </label>
  );
}

function Progress() {
  const { status, done, total, startedAt, lastAt } = useEvaluateStore();
  if (status === 'idle' || !total) return null;
  const seconds = (lastAt - startedAt) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const left = rate > 0 ? (total - done) / rate : null;
  return (
    <div className="text-sm" data-testid="evaluate-progress" data-done={done} data-total={total} data-status={status}>
      <progress className="w-64 align-middle" max={total} value={done} /> {done} / {total} images
      {rate > 0 && ` · ${rate.toFixed(1)} images/s`}
      {status === 'running' && left !== null && ` · about ${Math.ceil(left)} s left`}
      {status === 'cancelled' && ' · cancelled: the numbers below cover the images done'}
    </div>
  );
}

const Summary = memo(function Summary({ doc }: { doc: ResultsDocument }) {
  const latency = useMemo(() => meanLatency(doc), [doc]);
  const ref = doc.models.find((m) => m.id === doc.reference);
  return (
    <table className="w-full text-sm" data-testid="evaluate-summary">
      <caption className="text-left text-slate-400">
        Mean over images with a number, 95 % bootstrap interval over images ({doc.settings.bootstrap.resamples}{' '}
        resamples); an image where neither side has anything is not counted. Reference: {doc.reference}.
      </caption>
      <thead className="text-left text-slate-400">
        <tr>
          <th>model</th>
          <th>against</th>
          <th>metric</th>
          <th>value</th>
          <th>share of {doc.reference}</th>
          <th>size vs {doc.reference}</th>
          <th>latency vs {doc.reference}</th>
        </tr>
      </thead>
      <tbody>
        {doc.summary.map((s) => {
          const m = doc.models.find((x) => x.id === s.model);
          const lat = latency[s.model];
          const refLat = latency[doc.reference];
          return (
            <tr
              key={`${s.model}|${s.against}|${s.metric}`}
              className="border-t border-slate-800"
              data-testid="summary-row"
              data-model={s.model}
              data-against={s.against}
              data-metric={s.metric}
              data-mean={s.mean ?? ''}
            >
              <td className="font-mono">{s.model}</td>
              <td>{s.against}</td>
              <td>{METRIC_NAMES[s.metric] ?? s.metric}</td>
              <td>{summaryText(s)}</td>
              <td>
                {s.against === TRUTH && typeof s.share_of_reference === 'number'
                  ? `${(100 * s.share_of_reference).toFixed(0)} %`
                  : ''}
              </td>
              <td>{m?.bytes && ref?.bytes && m !== ref ? `${((100 * m.bytes) / ref.bytes).toFixed(0)} %` : ''}</td>
              <td>
                {lat && refLat && s.model !== doc.reference
                  ? `${((100 * lat) / refLat).toFixed(0)} % (${lat.toFixed(0)} ms)`
                  : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
});

/** Per-class numbers pooled over the set, one table per unit, and each confusion matrix (rows normalised). */
const PerClass = memo(function PerClass({ doc }: { doc: ResultsDocument }) {
  const tables = doc.confusion ?? [];
  return (
    <div className="space-y-2">
      {(['pixels', 'boxes'] as const).map((unit) => {
        const pairs = tables.filter((t) => (t.unit ?? 'pixels') === unit);
        if (!pairs.length) return null;
        const metric = unit === 'pixels' ? 'iou' : 'f1';
        const entries = (doc.per_class ?? []).filter((p) => p.metric === metric);
        const classes = [...new Map(entries.map((p) => [p.class_id, p.class ?? `class ${p.class_id}`]))].sort(
          (a, b) => a[0] - b[0],
        );
        const value = (model: string, against: string, k: number) =>
          entries.find((p) => p.model === model && p.against === against && p.class_id === k)?.value;
        return (
          <table key={unit} className="w-full text-sm" data-testid="evaluate-per-class" data-unit={unit}>
            <caption className="text-left text-slate-400">
              {unit === 'pixels'
                ? 'Per-class IoU over the whole set (pixels pooled over images, as the model cards’ mIoU)'
                : `Per-class box F1 over the whole set (boxes matched at IoU ${doc.settings.iou} whatever their class; a box of another class, a missed one and an extra one each count against the class)`}
            </caption>
            <thead className="text-left text-slate-400">
              <tr>
                <th>class</th>
                {pairs.map((p) => (
                  <th key={`${p.model}|${p.against}`}>
                    {p.model} vs {p.against}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {classes.map(([k, name]) => (
                <tr key={k} className="border-t border-slate-800">
                  <td>{name}</td>
                  {pairs.map((p) => {
                    const v = value(p.model, p.against, k);
                    return (
                      <td key={`${p.model}|${p.against}`} data-testid="per-class-cell" data-value={v ?? ''}>
                        {typeof v === 'number' ? `${(100 * v).toFixed(1)} %` : '–'}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        );
      })}
      <div className="flex flex-wrap gap-4">
        {tables.map((p) => {
          const n = p.classes.length;
          const normalised = new Float32Array(n * n);
          p.matrix.forEach((row, i) => {
            const total = row.reduce((a, b) => a + b, 0);
            row.forEach((v, j) => {
              normalised[i * n + j] = total ? v / total : 0;
            });
          });
          const unit = p.unit ?? 'pixels';
          return (
            <figure
              key={`${p.model}|${p.against}|${unit}`}
              className="text-xs"
              data-testid="confusion"
              data-unit={unit}
            >
              <Heatmap values={normalised} grid={[n, n]} domain={[0, 1]} className="h-32 w-32" />
              <figcaption className="max-w-48 text-slate-400">
                {unit}: rows {p.against}, columns {p.model} ({p.classes.join(', ')}); each row sums to 1
                {unit === 'boxes' && ` · “${NO_BOX}”: a box the other side does not have`}
              </figcaption>
            </figure>
          );
        })}
      </div>
    </div>
  );
});

const MethodMeans = memo(function MethodMeans({ doc }: { doc: ResultsDocument }) {
  const means = useMemo(() => methodMeans(doc), [doc]);
  if (!means.length) return null;
  return (
    <table className="w-full text-sm" data-testid="evaluate-methods">
      <caption className="text-left text-slate-400">Method numbers, mean over the images that have them</caption>
      <tbody>
        {means.map((m) => (
          <tr key={`${m.model}|${m.what}`} className="border-t border-slate-800" data-testid="method-mean">
            <td className="font-mono">{m.model}</td>
            <td>{m.what}</td>
            <td>
              {m.mean.toFixed(3)} over {m.n} image{m.n === 1 ? '' : 's'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

/** Mean gate and attention maps over the set, one heatmap each (its own range). */
const MeanMapsView = memo(function MeanMapsView({ doc }: { doc: ResultsDocument }) {
  return (
    <div>
      <p className="text-sm text-slate-400">Mean maps over the set (each on its own colour range)</p>
      <div className="mt-1 flex flex-wrap gap-4">
        {doc.maps!.map((m) => (
          <figure key={`${m.model}|${m.output}`} className="text-xs" data-testid="mean-map" data-model={m.model}>
            <Heatmap values={Float32Array.from(m.values)} grid={m.grid} className="h-28 w-28" />
            <figcaption className="max-w-40 text-slate-400">
              {m.model}: {m.what} ({m.n} images)
            </figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
});

const FailureTotals = memo(function FailureTotals({ doc }: { doc: ResultsDocument }) {
  const totals = useMemo(() => failureTotals(doc), [doc]);
  if (!totals.length) return null;
  const share = (n: number, total: number) => (total ? ` (${((100 * n) / total).toFixed(1)} %)` : '');
  return (
    <table className="w-full text-sm" data-testid="evaluate-failures">
      <caption className="text-left text-slate-400">
        Against ground truth, beside {doc.reference}: objects found (box matched at IoU 0.5, same class) or pixels
        classified right, over the whole set
      </caption>
      <thead className="text-left text-slate-400">
        <tr>
          <th>model</th>
          <th>only {doc.reference} gets</th>
          <th>only the model gets</th>
          <th>neither gets</th>
          <th>in all</th>
        </tr>
      </thead>
      <tbody>
        {totals.map((t) => (
          <tr key={t.model} className="border-t border-slate-800" data-testid="failure-row" data-model={t.model}>
            <td className="font-mono">{t.model}</td>
            <td>
              {t.only_reference.toLocaleString()} {t.unit}
              {share(t.only_reference, t.total)}
            </td>
            <td>
              {t.only_model.toLocaleString()} {t.unit}
              {share(t.only_model, t.total)}
            </td>
            <td>
              {t.neither.toLocaleString()} {t.unit}
              {share(t.neither, t.total)}
            </td>
            <td>
              {t.total.toLocaleString()} {t.unit}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
});

const Ranking = memo(function Ranking({ doc }: { doc: ResultsDocument }) {
  const images = useStore((s) => s.images);
  const sort = useEvaluateStore((s) => s.sort);
  const filter = useEvaluateStore((s) => s.filter);
  const { setSort, setFilter } = useEvaluateStore.getState();
  const { columns, rows } = useMemo(() => tableOf(doc), [doc]);
  const missedModels = useMemo(() => failureTotals(doc).map((t) => t.model), [doc]);
  const shown = useMemo(
    () => sortRows(filterRows(rows, filter), sort.key, sort.descending, columns, doc.reference),
    [rows, filter, sort, columns, doc.reference],
  );
  const header = (key: SortKey, label: string) => (
    <th key={key}>
      <button
        type="button"
        className="underline-offset-2 hover:underline"
        data-testid={`sort-${key}`}
        onClick={() => setSort({ key, descending: sort.key === key ? !sort.descending : false })}
      >
        {label}
        {sort.key === key ? (sort.descending ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );
  const open = (id: string) => {
    const image = useStore.getState().images.find((i) => i.id === id);
    if (!image) return;
    useStore.getState().showImage(image);
    useEvaluateStore.getState().setMode('compare');
  };
  return (
    <div>
      <label className="text-sm">
        filter by name{' '}
        <input
          className="bg-slate-800 p-1"
          data-testid="evaluate-filter"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </label>
      <span className="ml-3 text-sm text-slate-400">
        {shown.length > SHOWN ? `showing ${SHOWN} of ${shown.length}` : `${shown.length} images`}; click an image to
        open it in the comparison
      </span>
      <table className="mt-2 w-full text-sm" data-testid="evaluate-table">
        <thead className="text-left text-slate-400">
          <tr>
            <th />
            {header('name', 'image')}
            {header('worst', `worst agreement with ${doc.reference}`)}
            {columns.map((c) => header(c.key, `${c.model}${c.metric === 'box_ap' ? ' AP' : ''} vs ${c.against}`))}
            {missedModels.map((m) => header(`${MISSED}${m}`, `only ${doc.reference} gets (vs ${m})`))}
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, SHOWN).map((r) => {
            const entry = findImage(images, { hash: r.image.id });
            return (
              <tr
                key={r.image.id}
                className="cursor-pointer border-t border-slate-800 hover:bg-slate-800"
                data-testid="evaluate-row"
                data-image={r.image.id}
                data-name={r.image.name}
                onClick={() => open(r.image.id)}
              >
                <td>{entry ? <img src={entry.thumb} alt="" className="h-8" /> : <span title="not open">–</span>}</td>
                <td>{r.image.name}</td>
                <td>{fmt(worstAgreement(r, columns, doc.reference))}</td>
                {columns.map((c) => (
                  <td key={c.key} data-column={c.key} data-value={r.values[c.key] ?? ''}>
                    {fmt(r.values[c.key])}
                  </td>
                ))}
                {missedModels.map((m) => (
                  <td key={m}>{r.missed[m] ?? ''}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
});

const fmt = (v: number | null | undefined) =>
  v === undefined ? '' : v === null ? 'nothing to compare' : `${(100 * v).toFixed(1)} %`;
