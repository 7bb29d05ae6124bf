/**
 * Saliency jobs on the page: started per model in its worker, their progress and results by model, image and
 * job. Kept apart from the view's store, so a progress tick re-renders only this view. Cancel stops a job
 * between two batches and drops what it had done (a partial RISE sum or half the occlusion patches is not
 * the map the settings name); a model that finished keeps its map.
 */
import { create } from 'zustand';
import { retryModel } from '../../app/controller';
import { detailOf } from '../../inference/errors';
import { type LoadedModel, ModelError, RunStopped, SaliencyCancelled, saliencyOfModel } from '../../inference/models';
import type { ImageEntry } from '../../state/store';
import type { SaliencyJob, SaliencyOutcome } from './job';

export type SaliencyEntry =
  | { status: 'running'; done: number; total: number; batched: boolean; startedAt: number }
  | { status: 'done'; outcome: SaliencyOutcome; batched: boolean; seconds: number }
  | { status: 'cancelled'; done: number; total: number }
  | { status: 'failed'; message: string; detail?: string };

/** A result's key: the model, the image's content, and everything that decides the map (not the batch size). */
export const entryKey = (modelId: string, imageId: string, job: SaliencyJob) =>
  `${modelId}@${imageId}#${JSON.stringify({ spec: job.spec, target: job.target })}`;

/** Results kept (each a map of one float per input pixel): the oldest finished ones go first. */
const KEEP = 24;

interface JobStore {
  entries: Record<string, SaliencyEntry>;
  put: (key: string, entry: SaliencyEntry) => void;
}

export const useSaliencyJobs = create<JobStore>((set) => ({
  entries: {},
  put: (key, entry) =>
    set((s) => {
      const entries = { ...s.entries };
      delete entries[key]; // re-inserted last: the newest
      entries[key] = entry;
      const finished = Object.keys(entries).filter((k) => entries[k].status !== 'running');
      for (const k of finished.slice(0, Math.max(0, Object.keys(entries).length - KEEP))) delete entries[k];
      return { entries };
    }),
}));

const cancels = new Map<string, () => void>();

/** Past this after Cancel, a job still running (one pass that never ends) has its worker stopped and its model reopened. */
export const CANCEL_GRACE_MS = 10_000;

/** Start a job per model (each in its own worker, so they run side by side); a job already running or done is left alone. */
export function startSaliency(items: { id: string; model: LoadedModel; job: SaliencyJob }[], image: ImageEntry): void {
  const { put } = useSaliencyJobs.getState();
  for (const { id, model, job } of items) {
    const key = entryKey(id, image.id, job);
    const current = useSaliencyJobs.getState().entries[key];
    if (current?.status === 'running' || current?.status === 'done') continue;
    const startedAt = performance.now();
    put(key, { status: 'running', done: 0, total: 0, batched: job.batch > 1, startedAt });
    let handle: ReturnType<typeof saliencyOfModel>;
    try {
      handle = saliencyOfModel(model, image, job, (done, total, batched) => {
        if (useSaliencyJobs.getState().entries[key]?.status === 'running')
          put(key, { status: 'running', done, total, batched, startedAt });
      });
    } catch (e) {
      put(key, { status: 'failed', message: (e as Error).message });
      continue;
    }
    cancels.set(key, handle.cancel);
    handle.outcome
      .then(({ outcome, milliseconds }) =>
        put(key, { status: 'done', outcome, batched: outcome.batched, seconds: milliseconds / 1000 }),
      )
      .catch((e: Error) => {
        const was = useSaliencyJobs.getState().entries[key];
        const progress = was?.status === 'running' ? { done: was.done, total: was.total } : { done: 0, total: 0 };
        if (e instanceof SaliencyCancelled || (e instanceof RunStopped && stopping.has(key)))
          put(key, { status: 'cancelled', ...progress });
        else if (e instanceof RunStopped)
          put(key, { status: 'failed', message: `${id}'s worker was stopped (a Cancel or a reload): run it again` });
        else
          put(key, {
            status: 'failed',
            message: e instanceof ModelError ? e.message : `${id}: ${e.message}`,
            detail: detailOf(e),
          });
      })
      .finally(() => {
        cancels.delete(key);
        stopping.delete(key);
      });
  }
}

/** Jobs Cancel was pressed for, still running. */
const stopping = new Set<string>();

/** Cancel jobs: each stops between two batches; one stuck in a pass past CANCEL_GRACE_MS has its model restarted. */
export function cancelSaliency(keys: string[]): void {
  for (const key of keys) {
    const cancel = cancels.get(key);
    if (!cancel) continue;
    stopping.add(key);
    cancel();
    setTimeout(() => {
      if (stopping.has(key) && useSaliencyJobs.getState().entries[key]?.status === 'running')
        retryModel(key.slice(0, key.indexOf('@')));
    }, CANCEL_GRACE_MS);
  }
}
