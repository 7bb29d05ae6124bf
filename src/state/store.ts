/** The one store: the shareable view (mirrored to the URL fragment) and what the app has loaded/computed. */
import { create } from 'zustand';
import type { ZooIndex } from '../zoo';
import type { LoadedModel } from '../inference/models';
import type { TensorPayload } from '../inference/protocol';
import { DEFAULT_VIEW, decodeView, encodeView, type ViewState } from './viewState';

export interface ImageEntry {
  name: string;
  bitmap: ImageBitmap;
  /** Gallery samples can be named in a link; the user's own images cannot (they never leave the browser). */
  fromGallery: boolean;
}

export interface ModelSlot {
  status: 'loading' | 'ready' | 'error';
  progress?: number;
  model?: LoadedModel;
  error?: string;
}

/** Raw task outputs of one model on one image; views interpret them with the current settings. */
export interface RunResult {
  outputs: Record<string, TensorPayload>;
  milliseconds: number;
}

/** Pan/zoom shared by every pane (d3-zoom transform in pane pixels), and the hovered image point. */
export interface ZoomState {
  k: number;
  x: number;
  y: number;
}

interface Store {
  view: ViewState;
  zoom: ZoomState;
  hover: { x: number; y: number } | null;
  setZoom: (z: ZoomState) => void;
  setHover: (h: { x: number; y: number } | null) => void;
  zoo: ZooIndex | null;
  images: ImageEntry[];
  current: number;
  slots: Record<string, ModelSlot>;
  results: Record<string, RunResult>; // key: `${modelId}@${imageName}`
  notices: string[];
  setView: (patch: Partial<ViewState>) => void;
  setZoo: (zoo: ZooIndex) => void;
  addImages: (images: ImageEntry[]) => void;
  setCurrent: (i: number) => void;
  setSlot: (id: string, slot: ModelSlot) => void;
  setResult: (key: string, r: RunResult) => void;
  notify: (message: string) => void;
  dismiss: (i: number) => void;
}

const initial = decodeView(typeof location === 'undefined' ? '' : location.hash);

export const useStore = create<Store>((set) => ({
  view: initial.view,
  zoom: { k: 1, x: 0, y: 0 },
  hover: null,
  setZoom: (zoom) => set({ zoom }),
  setHover: (hover) => set({ hover }),
  zoo: null,
  images: [],
  current: 0,
  slots: {},
  results: {},
  notices: initial.problems,
  // A backend switch drops loaded sessions and results: the models reload and rerun on the new backend.
  setView: (patch) => set((s) => (patch.backend && patch.backend !== s.view.backend
    ? { view: { ...s.view, ...patch }, slots: {}, results: {} } : { view: { ...s.view, ...patch } })),
  setZoo: (zoo) => set({ zoo }),
  addImages: (images) => set((s) => ({ images: [...s.images, ...images], current: s.images.length })),
  setCurrent: (i) => set((s) => ({ current: Math.max(0, Math.min(i, s.images.length - 1)), zoom: { k: 1, x: 0, y: 0 }, hover: null })),
  setSlot: (id, slot) => set((s) => ({ slots: { ...s.slots, [id]: slot } })),
  setResult: (key, r) => set((s) => ({ results: { ...s.results, [key]: r } })),
  notify: (message) => set((s) => ({ notices: [...s.notices, message] })),
  dismiss: (i) => set((s) => ({ notices: s.notices.filter((_, j) => j !== i) })),
}));

/** Mirror the view into the URL fragment (replaceState: no history entry per slider move). */
useStore.subscribe((s, prev) => {
  if (s.view !== prev.view && typeof history !== 'undefined') history.replaceState(null, '', encodeView(s.view));
});

export { DEFAULT_VIEW };
