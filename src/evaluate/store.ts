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
  /** The ranking's order and name filter (they travel in links). */
  sort: { key: string; descending: boolean };
  filter: string;
  /** SHA-256 of the document as exported (names the results file a link refers to). */
  docHash: string | null;
  setMode: (mode: EvaluateState['mode']) => void;
  setSort: (sort: EvaluateState['sort']) => void;
  setFilter: (filter: string) => void;
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
  sort: { key: 'worst', descending: false },
  filter: '',
  docHash: null,
  setMode: (mode) => set({ mode }),
  setSort: (sort) => set({ sort }),
  setFilter: (filter) => set({ filter }),
}));
