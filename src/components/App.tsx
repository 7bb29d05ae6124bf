import { useEffect } from 'react';
import { addUserFiles, droppedFiles, followHash, loadGallery, useAnalysis } from '../app/controller';
import { EvaluateView } from '../evaluate/EvaluateView';
import { useEvaluateStore } from '../evaluate/store';
import { ReviewMode } from '../share/ReviewMode';
import { SharePanel } from '../share/SharePanel';
import { startSharing } from '../share/share';
import { useStore } from '../state/store';
import { isDetMetrics, isSegMetrics, type ZooModel } from '../zoo';
import { Compare } from './Compare';
import { Controls } from './Controls';
import { Guard } from './Guard';
import { LinkNotice } from './LinkNotice';
import { MethodViews } from './MethodViews';
import { RawDetail } from './RawDetail';

const pct = (v: number) => `${(100 * v).toFixed(1)}`;

function Headline({ model }: { model: ZooModel }) {
  const t = model.metrics.test;
  if (isSegMetrics(t)) return <span>mIoU {pct(t.miou)}</span>;
  if (isDetMetrics(t))
    return (
      <span>
        AP {pct(t.ap)} · AP50 {pct(t.ap50)}
      </span>
    );
  return (
    <span>
      pseudo-mask IoU {pct(t.dino_iou_last_layer)} (DINO) · {pct(t.cst_iou)} (CST) · ceiling {pct(t.ceiling_patch_iou)}
    </span>
  );
}

export function App() {
  const zoo = useStore((s) => s.zoo);
  const notices = useStore((s) => s.notices);
  const noticeDetails = useStore((s) => s.noticeDetails);
  const dismiss = useStore((s) => s.dismiss);
  const mode = useEvaluateStore((s) => s.mode);
  const setMode = useEvaluateStore((s) => s.setMode);
  useAnalysis();
  useEffect(() => {
    void loadGallery();
    startSharing();
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
      if (e.key === 'ArrowRight') useStore.getState().step(1);
      if (e.key === 'ArrowLeft') useStore.getState().step(-1);
    };
    const onPaste = (e: ClipboardEvent) => void addUserFiles([...(e.clipboardData?.files ?? [])]);
    window.addEventListener('keydown', onKey);
    window.addEventListener('paste', onPaste);
    window.addEventListener('hashchange', followHash);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('paste', onPaste);
      window.removeEventListener('hashchange', followHash);
    };
  }, []);
  return (
    <main
      className="mx-auto max-w-6xl p-6"
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        const plain = [...e.dataTransfer.files];
        void droppedFiles(e.dataTransfer.items).then((files) => addUserFiles(files.length ? files : plain));
      }}
    >
      <h1 className="text-2xl font-semibold">AttnLens</h1>
      <p className="text-slate-400">
        Why does the student differ from its teacher? Drop factory images anywhere; they stay in this browser.
      </p>
      {notices.map((n, i) => (
        <div key={n} className="mt-2 rounded bg-red-900/60 p-2 text-sm">
          <p role="alert" className="flex justify-between">
            {n}{' '}
            <button type="button" onClick={() => dismiss(i)} aria-label="dismiss">
              ×
            </button>
          </p>
          <RawDetail detail={noticeDetails[n]} />
        </div>
      ))}
      <Guard what="The controls" resetKeys={[]}>
        <Controls />
      </Guard>
      <Guard what="The link notice" resetKeys={[]}>
        <LinkNotice />
      </Guard>
      <Guard what="Sharing" resetKeys={[]}>
        <SharePanel />
      </Guard>
      <Guard what="Review mode" resetKeys={[]}>
        <ReviewMode />
      </Guard>
      <nav className="mt-4 flex gap-2 text-sm" aria-label="mode">
        {(['compare', 'evaluate'] as const).map((m) => (
          <button
            key={m}
            type="button"
            data-testid={`mode-${m}`}
            aria-pressed={mode === m}
            className={`rounded px-3 py-1 ${mode === m ? 'bg-sky-800' : 'bg-slate-800'}`}
            onClick={() => setMode(m)}
          >
            {m === 'compare' ? 'Compare one image' : 'Evaluate the data set'}
          </button>
        ))}
      </nav>
      {mode === 'evaluate' ? (
        <Guard what="The Evaluate view" resetKeys={[]}>
          <EvaluateView />
        </Guard>
      ) : (
        <>
          <Compare />
          <MethodViews />
        </>
      )}
      {zoo && (
        <table className="mt-8 w-full text-sm" data-testid="zoo-table">
          <thead className="text-left text-slate-400">
            <tr>
              <th>model</th>
              <th>role</th>
              <th>params</th>
              <th>size</th>
              <th>latency (node)</th>
              <th>test split</th>
            </tr>
          </thead>
          <tbody>
            {zoo.models.map((m) => (
              <tr key={m.id} className="border-t border-slate-800">
                <td className="py-1 font-mono">{m.id}</td>
                <td>{m.role}</td>
                <td>{m.params.toLocaleString()}</td>
                <td>{(m.bytes / 1e6).toFixed(2)} MB</td>
                <td>{m.latency_ms.onnxruntime_node ? `${m.latency_ms.onnxruntime_node} ms` : '–'}</td>
                <td>
                  <Headline model={m} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
