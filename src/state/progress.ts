/**
 * What is under way per model, for its pane: a download (bytes so far of the announced total) and a run (on
 * which image, since when). Apart from the main store so that a progress tick re-renders only the panes.
 */
import { create } from 'zustand';

export interface FetchState {
  url: string;
  received: number;
  total: number | null;
}

export interface RunState {
  image: string;
  /** Date.now() when the run was sent to the model's worker. */
  startedAt: number;
  timeoutMs: number;
}

/** A model's load warming up on WebGPU (shaders compiled, its graph captured), since when. */
export interface WarmUpState {
  startedAt: number;
}

interface Progress {
  fetches: Record<string, FetchState>;
  runs: Record<string, RunState>;
  warmUps: Record<string, WarmUpState>;
  setFetch: (id: string, state: FetchState | null) => void;
  setRun: (id: string, state: RunState | null) => void;
  /** Runs that failed, by run key (model@image): the pane says so and offers Retry instead of "running". */
  failedRuns: Record<string, string>;
  setFailedRun: (key: string, message: string | null) => void;
  setWarmUp: (id: string, state: WarmUpState | null) => void;
}

const without = <T>(record: Record<string, T>, id: string) =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== id));

export const useProgress = create<Progress>((set) => ({
  fetches: {},
  runs: {},
  failedRuns: {},
  warmUps: {},
  setFetch: (id, state) => set((s) => ({ fetches: state ? { ...s.fetches, [id]: state } : without(s.fetches, id) })),
  setRun: (id, state) => set((s) => ({ runs: state ? { ...s.runs, [id]: state } : without(s.runs, id) })),
  setFailedRun: (key, message) =>
    set((s) =>
      message
        ? { failedRuns: { ...s.failedRuns, [key]: message } }
        : key in s.failedRuns
          ? { failedRuns: without(s.failedRuns, key) }
          : s,
    ),
  setWarmUp: (id, state) => set((s) => ({ warmUps: state ? { ...s.warmUps, [id]: state } : without(s.warmUps, id) })),
}));
