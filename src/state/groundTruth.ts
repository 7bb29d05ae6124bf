/**
 * Ground truth the user supplies for the detection views: boxes drawn per image, and an imported COCO file
 * (matched to images by file_name). Kept in this tab only, like the user's images — a link cannot carry them.
 */
import { create } from 'zustand';
import type { Coco, GtObject } from '../analysis/groundTruth';

interface GroundTruthStore {
  /** Drawn boxes per image (content id), in image pixels. */
  drawn: Record<string, GtObject[]>;
  imported: { file: string; coco: Coco } | null;
  /** Class the next drawn box gets. */
  drawClass: number;
  addBox: (image: string, box: GtObject) => void;
  removeBox: (image: string, index: number) => void;
  clear: (image: string) => void;
  setImported: (imported: { file: string; coco: Coco } | null) => void;
  setDrawClass: (classId: number) => void;
}

export const useGroundTruthStore = create<GroundTruthStore>((set) => ({
  drawn: {},
  imported: null,
  drawClass: 1,
  addBox: (image, box) => set((s) => ({ drawn: { ...s.drawn, [image]: [...(s.drawn[image] ?? []), box] } })),
  removeBox: (image, index) =>
    set((s) => ({ drawn: { ...s.drawn, [image]: (s.drawn[image] ?? []).filter((_, i) => i !== index) } })),
  clear: (image) => set((s) => ({ drawn: { ...s.drawn, [image]: [] } })),
  setImported: (imported) => set({ imported }),
  setDrawClass: (drawClass) => set({ drawClass }),
}));
