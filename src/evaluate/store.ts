/** The Evaluate mode's state: which mode shows, the run in progress, and the results document it builds. */
import { create } from 'zustand';
import type { ResultsDocument } from './results';

export type EvaluateStatus = 'idle' | 'running' | 'done' | 'cancelled';

export interface EvaluateState {
  mode: 'compare' | 'evaluate';
  status: EvaluateStatus;
  done: number;
  total: number;
  /** performance.now() when the run started, and when the last image finished. */
  startedAt: number;
  lastAt: number;
  /** The document so far (a cancelled run keeps what was done), or one read from a file. */
  doc: ResultsDocument | null;
  /** The results file the document was read from, when it was. */
  source: string | null;
  notes: string[];
  setMode: (mode: EvaluateState['mode']) => void;
}

export const useEvaluateStore = create<EvaluateState>((set) => ({
  mode: 'compare',
  status: 'idle',
  done: 0,
  total: 0,
  startedAt: 0,
  lastAt: 0,
  doc: null,
  source: null,
  notes: [],
  setMode: (mode) => set({ mode }),
}));
