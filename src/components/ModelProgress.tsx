import { useEffect, useState } from 'react';
import { cancelModel, removeModel, retryModel, retryRun } from '../app/controller';
import { formatBytes } from '../inference/fetchModel';
import { useProgress } from '../state/progress';
import { runKey } from '../state/runs';
import { type ImageEntry, useStore } from '../state/store';

const button = 'rounded bg-slate-800 px-2 py-0.5 text-xs hover:bg-slate-700';

/**
 * What a model is doing (download progress, a run's seconds) and its Cancel / Retry / Remove buttons; a run
 * that failed on the shown image says so, with Retry.
 */
export function ModelProgress({ modelId, image }: { modelId: string; image?: ImageEntry }) {
  const slot = useStore((s) => s.slots[modelId]);
  const runFailure = useProgress((s) => (image ? s.failedRuns[runKey(modelId, image.id)] : undefined));
  const download = useProgress((s) => s.fetches[modelId]);
  const run = useProgress((s) => s.runs[modelId]);
  const warmUp = useProgress((s) => s.warmUps[modelId]);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!run && !warmUp) return;
    setNow(Date.now());
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [run, warmUp]);
  const fetching = slot?.status === 'fetching' && download;
  const failed = slot?.status === 'error' && slot.retry;
  if (warmUp && slot?.status === 'loading')
    return (
      <div className="mt-1 text-xs text-slate-300" data-testid="model-progress">
        <span data-testid="warm-up">
          warming up on WebGPU (compiling shaders, capturing the graph)…{' '}
          {Math.max(0, Math.floor((now - warmUp.startedAt) / 1000))} s
        </span>
      </div>
    );
  if (!fetching && !run && !failed) {
    if (!runFailure || !image || slot?.status !== 'ready') return null;
    return (
      <div className="mt-1 flex items-center gap-2 text-xs text-rose-300" data-testid="model-progress">
        <span data-testid="run-failed">did not run on {image.name}: see the message above</span>
        <button type="button" className={button} data-testid="retry-run" onClick={() => retryRun(modelId, image)}>
          Retry
        </button>
      </div>
    );
  }
  let text = '';
  if (fetching) {
    const { received, total } = download;
    text = total
      ? `fetching ${formatBytes(received)} of ${formatBytes(total)} (${Math.floor((100 * received) / total)} %)`
      : `fetching ${formatBytes(received)}`;
  } else if (run) text = `running on ${run.image}… ${Math.max(0, Math.floor((now - run.startedAt) / 1000))} s`;
  return (
    <div className="mt-1 flex items-center gap-2 text-xs text-slate-300" data-testid="model-progress">
      {text && <span data-testid={fetching ? 'fetch-progress' : 'run-progress'}>{text}</span>}
      {fetching && download.total && (
        <progress className="h-1 w-24" max={download.total} value={download.received} data-testid="fetch-bar" />
      )}
      {(fetching || run) && (
        <button type="button" className={button} data-testid="cancel" onClick={() => cancelModel(modelId)}>
          Cancel
        </button>
      )}
      {failed && (
        <button type="button" className={button} data-testid="retry" onClick={() => retryModel(modelId)}>
          Retry
        </button>
      )}
      {(fetching || failed) && (
        <button type="button" className={button} data-testid="remove" onClick={() => removeModel(modelId)}>
          Remove
        </button>
      )}
    </div>
  );
}
