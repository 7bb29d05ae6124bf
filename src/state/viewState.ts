/**
 * The shareable view and its URL-fragment form. The store holds the view; the fragment is derived from it
 * (and restores it), so a link reopens the same view. The core (models, image, threshold, opacity, backend,
 * selection) is written here; each method writes its own slice (methods/registry). Only ids, content hashes
 * and settings travel — never image pixels: images stay in the user's browser.
 */
import { METHOD_DEFAULTS, METHODS, type MethodSettings } from '../methods/registry';
import { decodeSlice, encodeSlice, type LinkSlice } from './linkCodec';

/** A clicked detection: a model's query in one of its query blocks. */
export interface QuerySelection {
  model: string;
  block: 'one_to_one' | 'one_to_many';
  query: number;
}

/** The current image: a gallery sample by name, or the user's own image by content hash (and its file name, for the message when it is not open). */
export type ImageLink = { sample: string } | { hash: string; name?: string } | null;

export interface ViewState {
  /** Zoo pair or model ids, left to right. */
  models: string[];
  image: ImageLink;
  /** Detection score threshold, 0..1; null: each detector's recommended threshold (its contract's, else 0.5). */
  threshold: number | null;
  /** Mask overlay opacity, 0..1. */
  opacity: number;
  backend: 'auto' | 'webgpu' | 'wasm';
  /** The clicked detection whose cross-attention the DETR views show (null: none). */
  selection: QuerySelection | null;
  methods: MethodSettings;
}

export const DEFAULT_VIEW: ViewState = {
  models: ['seg-teacher', 'seg-student-attnfd'],
  image: { sample: 'factory-test-000.png' },
  threshold: null,
  opacity: 0.55,
  backend: 'auto',
  selection: null,
  methods: METHOD_DEFAULTS,
};

const BLOCKS = { o2o: 'one_to_one', o2m: 'one_to_many' } as const;
const ID = /^[a-z0-9][a-z0-9._-]*$/;
const slices = () =>
  METHODS.filter((m) => m.link) as unknown as { id: keyof MethodSettings; link: LinkSlice<object> }[];

export function encodeView(v: ViewState): string {
  const p = new URLSearchParams();
  p.set('m', v.models.join(','));
  if (v.image && 'sample' in v.image) p.set('s', v.image.sample);
  if (v.image && 'hash' in v.image) {
    p.set('img', v.image.hash);
    if (v.image.name) p.set('in', v.image.name);
  }
  if (v.threshold !== null) p.set('t', v.threshold.toFixed(2));
  p.set('o', v.opacity.toFixed(2));
  if (v.backend !== 'auto') p.set('b', v.backend);
  if (v.selection)
    p.set('q', `${v.selection.model}:${v.selection.block === 'one_to_many' ? 'o2m' : 'o2o'}:${v.selection.query}`);
  for (const m of slices()) encodeSlice(m.link, v.methods[m.id], p);
  return `#${p.toString()}`;
}

export interface DecodedView {
  view: ViewState;
  /** What in the link was unusable and was replaced by the default, in words for the user. */
  problems: string[];
}

/** Parse a fragment; anything malformed falls back to the base (default) value and is reported. */
export function decodeView(hash: string, base: ViewState = DEFAULT_VIEW): DecodedView {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const problems: string[] = [];
  const view: ViewState = { ...base };
  const m = p.get('m');
  if (m !== null) {
    const ids = m.split(',').filter(Boolean);
    if (ids.length >= 1 && ids.length <= 8 && ids.every((id) => ID.test(id) && id.length <= 80)) view.models = ids;
    else problems.push(`the link's model list "${m}" is not a list of model ids`);
  }
  const s = p.get('s');
  const img = p.get('img');
  if (img !== null) {
    const name = p.get('in') ?? undefined;
    if (/^[0-9a-f]{16}$/.test(img)) view.image = { hash: img, ...(name ? { name: name.slice(0, 200) } : {}) };
    else problems.push(`the link's image "${img}" is not an image id (16 hex digits)`);
  } else if (s !== null) {
    if (/^[\w.-]+\.(png|jpe?g|webp)$/i.test(s)) view.image = { sample: s };
    else problems.push(`the link's sample "${s}" is not a gallery image name`);
  }
  for (const [key, field] of [
    ['t', 'threshold'],
    ['o', 'opacity'],
  ] as const) {
    const raw = p.get(key);
    if (raw === null) continue;
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) view[field] = n;
    else problems.push(`the link's ${field} "${raw}" is not a number between 0 and 1`);
  }
  const b = p.get('b');
  if (b !== null) {
    if (b === 'webgpu' || b === 'wasm' || b === 'auto') view.backend = b;
    else problems.push(`the link's backend "${b}" is not webgpu or wasm`);
  }
  const q = p.get('q');
  if (q !== null) {
    const sel = /^([a-z0-9][a-z0-9._-]*):(o2o|o2m):(\d{1,5})$/.exec(q);
    if (sel) view.selection = { model: sel[1], block: BLOCKS[sel[2] as 'o2o' | 'o2m'], query: Number(sel[3]) };
    else problems.push(`the link's selected query "${q}" is not model:o2o|o2m:index`);
  }
  const methods = { ...base.methods } as Record<string, object>;
  for (const slice of slices()) methods[slice.id] = decodeSlice(slice.link, base.methods[slice.id], p, problems);
  view.methods = methods as MethodSettings;
  return { view, problems };
}
