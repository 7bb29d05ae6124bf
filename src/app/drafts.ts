/**
 * Models dropped without a contract (none embedded, no sidecar): each waits in its pane with a draft contract
 * inferred from its graph (contract/draft) until the user confirms it and opens the model with it — the way a
 * sidecar opens one (controller.openDraftedModel).
 */
import { create } from 'zustand';
import type { DraftContract } from '../contract/draft';
import type { ModelSource } from '../inference/models';
import { useStore } from '../state/store';

export interface DraftEntry {
  draft: DraftContract;
  bytes: ArrayBuffer;
  source: ModelSource;
  /** The contract (JSON) the model opened with, once it did: offered as a sidecar download. */
  opened?: string;
  /** Why the last Open failed when the model loaded (the contract itself was valid), shown in the form. */
  failed?: string;
}

interface Drafts {
  entries: Record<string, DraftEntry>;
  put: (id: string, entry: DraftEntry) => void;
  update: (id: string, patch: Partial<DraftEntry>) => void;
  drop: (id: string) => void;
}

export const useDrafts = create<Drafts>((set) => ({
  entries: {},
  put: (id, entry) => set((s) => ({ entries: { ...s.entries, [id]: entry } })),
  update: (id, patch) =>
    set((s) => (s.entries[id] ? { entries: { ...s.entries, [id]: { ...s.entries[id], ...patch } } } : s)),
  drop: (id) => set((s) => ({ entries: Object.fromEntries(Object.entries(s.entries).filter(([k]) => k !== id)) })),
}));

/** Show a model's draft in its pane (added to the view), and say why in the notices. */
export function showDraft(id: string, bytes: ArrayBuffer, draft: DraftContract, source: ModelSource): void {
  useDrafts.getState().put(id, { draft, bytes, source });
  const { setSlot, setView, notify } = useStore.getState();
  setSlot(id, { status: 'draft' });
  const { models } = useStore.getState().view;
  if (!models.includes(id)) setView({ models: [...models, id] });
  notify(
    `${source.name} has no AttnLens contract: a draft inferred from its graph is in the ${id} pane — check what it found, answer what it asks, and open the model with it (or re-export the model with the export kit, ml/attnlens_ml/export_kit.py, which writes the contract in).`,
  );
}
