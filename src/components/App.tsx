import { useEffect, useState } from 'react';
import { fetchZoo, isSegMetrics, type ZooIndex, type ZooModel } from '../zoo';

const pct = (v: number) => `${(100 * v).toFixed(1)}`;

function Headline({ model }: { model: ZooModel }) {
  const t = model.metrics.test;
  if (isSegMetrics(t)) return <span>mIoU {pct(t.miou)}</span>;
  return (
    <span>
      pseudo-mask IoU {pct(t.dino_iou_last_layer)} (DINO) · {pct(t.cst_iou)} (CST) · ceiling {pct(t.ceiling_patch_iou)}
    </span>
  );
}

/** The zoo overview: what is bundled and how each model measured on the test split. */
export function App() {
  const [zoo, setZoo] = useState<ZooIndex | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetchZoo().then(setZoo, (e: Error) => setError(e.message));
  }, []);
  return (
    <main className="mx-auto max-w-5xl p-6">
      <h1 className="text-2xl font-semibold">AttnLens</h1>
      <p className="text-slate-400">Why does the student differ from its teacher? Bundled model zoo:</p>
      {error && <p role="alert" className="mt-4 rounded bg-red-900/60 p-3">{error}</p>}
      {zoo && (
        <table className="mt-4 w-full text-sm" data-testid="zoo-table">
          <thead className="text-left text-slate-400">
            <tr><th>model</th><th>role</th><th>params</th><th>size</th><th>latency (node)</th><th>test split</th></tr>
          </thead>
          <tbody>
            {zoo.models.map((m) => (
              <tr key={m.id} className="border-t border-slate-800">
                <td className="py-1 font-mono">{m.id}</td>
                <td>{m.role}</td>
                <td>{m.params.toLocaleString()}</td>
                <td>{(m.bytes / 1e6).toFixed(2)} MB</td>
                <td>{m.latency_ms.onnxruntime_node ? `${m.latency_ms.onnxruntime_node} ms` : '–'}</td>
                <td><Headline model={m} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
