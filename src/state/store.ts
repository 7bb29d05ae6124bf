/**
 * The one store: the shareable view (mirrored to the URL fragment, which also restores it) and what the app
 * has loaded and computed: images (keyed by content), model sessions, and runs (bounded in bytes).
 */
import { create } from 'zustand';
import type { LoadedModel } from '../inference/models';
import type { ZooIndex } from '../zoo';
import { evictions, RUN_BUDGET_BYTES, type Run, runKey } from './runs';
import { DEFAULT_VIEW, decodeView, type ImageLink, type ViewState } from './viewState';

export interface ImageEntry {
  /** Hash of the decoded pixels: the same picture has the same id whatever its file is called. */
  id: string;
  name: string;
  blob: Blob;
  /** Object URLs of the file and of a small thumbnail (made once, for <img>). */
  url: string;
  thumb: string;
  /** The analysed size (after EXIF orientation; scaled when the longest side exceeded the limit). */
  width: number;
  height: number;
  original: { width: number; height: number } | null;
  /** Gallery samples can be named in a link by name; the user's own images by content id. */
  source: 'gallery' | 'user';
}

export interface ModelSlot {
  /**
   * 'fetching': a model URL downloading (bytes in state/progress); 'loading': bytes there, session opening;
   * 'draft': a model without a contract, waiting for the user to confirm the one drafted from its graph (app/drafts).
   */
  status: 'fetching' | 'loading' | 'ready' | 'error' | 'draft';
  progress?: number;
  model?: LoadedModel;
  error?: string;
  /** The runtime's own text behind `error`, shown folded ("technical detail"), never as the message. */
  detail?: string;
  /** The pane offers Retry (a fresh worker, the bytes again). */
  retry?: boolean;
}

/** Pan/zoom shared by every pane: d3-zoom's scale k, and its translation as fractions of the pane's size. */
export interface ZoomState {
  k: number;
  x: number;
  y: number;
}

interface Store {
  view: ViewState;
  zoom: ZoomState;
  hover: { x: number; y: number } | null;
  zoo: ZooIndex | null;
  images: ImageEntry[];
  slots: Record<string, ModelSlot>;
  runs: Record<string, Run>;
  notices: string[];
  /** The runtime's own text behind a notice (keyed by the notice), shown folded under it. */
  noticeDetails: Record<string, string>;
  setZoom: (z: ZoomState) => void;
  setHover: (h: { x: number; y: number } | null) => void;
  setView: (patch: Partial<ViewState>) => void;
  setMethod: <K extends keyof ViewState['methods']>(id: K, patch: Partial<ViewState['methods'][K]>) => void;
  setZoo: (zoo: ZooIndex) => void;
  addImages: (images: ImageEntry[]) => void;
  showImage: (image: ImageEntry) => void;
  step: (delta: number) => void;
  setSlot: (id: string, slot: ModelSlot) => void;
  dropModel: (id: string) => void;
  putRun: (run: Run) => void;
  notify: (message: string, detail?: string) => void;
  dismiss: (i: number) => void;
}

export const linkTo = (image: ImageEntry): ImageLink =>
  image.source === 'gallery' ? { sample: image.name } : { hash: image.id, name: image.name };

/** The image the view names, if it is open. */
export function findImage(images: ImageEntry[], link: ImageLink): ImageEntry | undefined {
  if (!link) return undefined;
  return 'sample' in link
    ? images.find((i) => i.source === 'gallery' && i.name === link.sample)
    : images.find((i) => i.id === link.hash);
}

const initial = decodeView(typeof location === 'undefined' ? '' : location.hash);
/** What the link the page opened with named that is unusable (shown by the link notice, state/linkNotes). */
export const initialLinkProblems = initial.problems;
/** What the link the page opened with carries beside the view: extras, and the shared view (applied by share/). */
export const initialLink = { extras: initial.extras, payload: initial.payload };

export const useStore = create<Store>((set, get) => ({
  view: initial.view,
  zoom: initial.extras.zoom ?? { k: 1, x: 0, y: 0 },
  hover: null,
  zoo: null,
  images: [],
  slots: {},
  runs: {},
  notices: [],
  noticeDetails: {},
  setZoom: (zoom) => set({ zoom }),
  setHover: (hover) => set({ hover }),
  // A backend switch drops loaded sessions and runs: the models reload and rerun on the new backend.
  setView: (patch) =>
    set((s) => {
      const view = { ...s.view, ...patch };
      const imageChanged = patch.image !== undefined && JSON.stringify(patch.image) !== JSON.stringify(s.view.image);
      const reset = imageChanged ? { zoom: { k: 1, x: 0, y: 0 }, hover: null } : {};
      return patch.backend && patch.backend !== s.view.backend
        ? { view, slots: {}, runs: {}, ...reset }
        : { view, ...reset };
    }),
  setMethod: (id, patch) =>
    set((s) => ({
      view: { ...s.view, methods: { ...s.view.methods, [id]: { ...(s.view.methods[id] as object), ...patch } } },
    })),
  setZoo: (zoo) => set({ zoo }),
  addImages: (images) =>
    set((s) => {
      const known = new Set(s.images.map((i) => i.id));
      const fresh = images.filter((i) => !known.has(i.id) && known.add(i.id));
      return { images: [...s.images, ...fresh] };
    }),
  showImage: (image) => get().setView({ image: linkTo(image) }),
  step: (delta) => {
    const { images, view, showImage } = get();
    const at = images.indexOf(findImage(images, view.image) as ImageEntry);
    const next = images[Math.max(0, Math.min(images.length - 1, at + delta))];
    if (next) showImage(next);
  },
  setSlot: (id, slot) => set((s) => ({ slots: { ...s.slots, [id]: slot } })),
  dropModel: (id) =>
    set((s) => ({
      slots: Object.fromEntries(Object.entries(s.slots).filter(([k]) => k !== id)),
      runs: Object.fromEntries(Object.entries(s.runs).filter(([, r]) => r.modelId !== id)),
    })),
  putRun: (run) =>
    set((s) => {
      const key = runKey(run.modelId, run.imageId);
      const runs = { ...s.runs };
      delete runs[key]; // re-inserted last: the newest
      runs[key] = run;
      const current = findImage(s.images, s.view.image)?.id;
      for (const k of evictions(runs, RUN_BUDGET_BYTES, (k) => runs[k].imageId === current)) delete runs[k];
      return { runs };
    }),
  notify: (message, detail) =>
    set((s) =>
      s.notices.includes(message)
        ? s
        : {
            notices: [...s.notices, message],
            ...(detail ? { noticeDetails: { ...s.noticeDetails, [message]: detail } } : {}),
          },
    ),
  dismiss: (i) =>
    set((s) => {
      const { [s.notices[i]]: _gone, ...noticeDetails } = s.noticeDetails;
      return { notices: s.notices.filter((_, j) => j !== i), noticeDetails };
    }),
}));

export { DEFAULT_VIEW };
