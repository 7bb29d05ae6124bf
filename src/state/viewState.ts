/**
 * The shareable view and its URL-fragment form. The store holds the view; the fragment is derived from it
 * (and restores it), so a link reopens the same view. The core (models, image, threshold, opacity, backend,
 * selection) is written here; each method writes its own slice (methods/registry). Only ids, content hashes
 * and settings travel — never image pixels: images stay in the user's browser.
 */
import { METHOD_DEFAULTS, METHODS, type MethodSettings } from '../methods/registry';
import { LINK_VERSION, LINK_VERSION_KEY, splitPayload } from '../share/viewDocument';
import { count, decodeSlice, encodeSlice, type LinkSlice, numbers, quote, sample } from './linkCodec';

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

/** Most models a view shows side by side; a link naming more keeps the first ones and says so. */
export const MAX_MODELS = 8;
/** Entries of a link's model list that are read (checked, kept up to MAX_MODELS); later ones are only counted. */
const MAX_SCANNED = 64;
/** Longest fragment read: every valid view fits many times over; the rest of a longer one is dropped and named. */
export const MAX_LINK_CHARS = 32_768;
/** The parameters the app reads: the core's and every method's. */
const knownKeys = () =>
  new Set([
    'm',
    's',
    'img',
    'in',
    't',
    'o',
    'b',
    'q',
    ...EXTRA_KEYS,
    ...slices().flatMap((m) => (m.link.params as { key: string }[]).map((p) => p.key)),
  ]);

/**
 * What a link carries beside the view: the panes' zoom, the mode, the data-set view's order, filter and results
 * file, the zoo models' versions (SHA-256 prefixes, in the order of `m`), and the link's format version.
 */
export interface LinkExtras {
  zoom?: { k: number; x: number; y: number };
  mode?: 'compare' | 'evaluate';
  sort?: { key: string; descending: boolean };
  filter?: string;
  /** SHA-256 of the results file the data-set view showed. */
  results?: string;
  /** Per model of `m`: its SHA-256 prefix when it is a zoo model, else ''. */
  versions?: string[];
}

const EXTRA_KEYS = ['z', 'mode', 'es', 'ef', 'rh', 'mv', LINK_VERSION_KEY, 'x'];
const zoomCodec = numbers(3, -16, 16, 'a zoom k,x,y (k from 1 to 16, x and y pane fractions)');

export function encodeExtras(e: LinkExtras, out: URLSearchParams): void {
  if (e.zoom && (e.zoom.k !== 1 || e.zoom.x !== 0 || e.zoom.y !== 0))
    out.set('z', [e.zoom.k, e.zoom.x, e.zoom.y].map(String).join(','));
  if (e.mode === 'evaluate') out.set('mode', 'evaluate');
  if (e.sort && (e.sort.key !== 'worst' || e.sort.descending))
    out.set('es', `${e.sort.key}:${e.sort.descending ? 'desc' : 'asc'}`);
  if (e.filter) out.set('ef', e.filter);
  if (e.results) out.set('rh', e.results);
  if (e.versions?.some(Boolean)) out.set('mv', e.versions.join(','));
}

function decodeExtras(p: URLSearchParams, problems: string[]): LinkExtras {
  const e: LinkExtras = {};
  const z = p.get('z');
  if (z !== null) {
    const v = z.length <= 100 ? zoomCodec.decode(z) : undefined;
    if (v && v[0] >= 1 && v[1] <= 1 && v[2] <= 1) e.zoom = { k: v[0], x: v[1], y: v[2] };
    else problems.push(`the link's zoom ${quote(z)} is not ${zoomCodec.expected}: showing the whole image`);
  }
  const mode = p.get('mode');
  if (mode !== null) {
    if (mode === 'evaluate' || mode === 'compare') e.mode = mode;
    else problems.push(`the link's mode ${quote(mode)} is not compare or evaluate`);
  }
  const es = p.get('es');
  if (es !== null) {
    const m = es.length <= 300 ? /^(.+):(asc|desc)$/.exec(es) : null;
    if (m) e.sort = { key: m[1], descending: m[2] === 'desc' };
    else problems.push(`the link's data-set order ${quote(es)} is not column:asc|desc`);
  }
  const ef = p.get('ef');
  if (ef !== null) {
    if (ef.length <= 300) e.filter = ef;
    else problems.push(`the link's data-set filter is ${count(ef.length)} characters (at most 300): not applied`);
  }
  const rh = p.get('rh');
  if (rh !== null) {
    if (/^[0-9a-f]{64}$/.test(rh)) e.results = rh;
    else problems.push(`the link's results file ${quote(rh)} is not a SHA-256 (64 hex digits)`);
  }
  const mv = p.get('mv');
  if (mv !== null) {
    const parts = mv.split(',', MAX_MODELS + 1);
    if (mv.length <= 200 && parts.every((x) => /^[0-9a-f]{0,16}$/.test(x))) e.versions = parts;
    else problems.push(`the link's model versions ${quote(mv)} are not SHA-256 prefixes: not checked`);
  }
  return e;
}

export function encodeView(v: ViewState, extras: LinkExtras = {}): string {
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
  encodeExtras(extras, p);
  return `#${p.toString()}`;
}

export interface DecodedView {
  view: ViewState;
  /** What in the link was unusable and was replaced by the default, in words for the user. */
  problems: string[];
  extras: LinkExtras;
  /** The shared view the link carries (its `x` parameter, still encoded), if any. */
  payload: string | null;
}

/** Parse a fragment; anything malformed falls back to the base (default) value and is reported. */
export function decodeView(hash: string, base: ViewState = DEFAULT_VIEW): DecodedView {
  const problems: string[] = [];
  // The shared view (`x=…`) may be long; it is read on its own (share/viewDocument), not as a view parameter.
  const split = splitPayload(hash);
  hash = split.view;
  if (split.version !== null && !(split.version >= 1 && split.version <= LINK_VERSION))
    problems.push(
      Number.isNaN(split.version)
        ? "the link's format version is not a number: read as this version's"
        : `the link was made by a newer AttnLens (link version ${split.version}, this one reads up to ${LINK_VERSION}): what is newer is not restored`,
    );
  const from = hash.startsWith('#') ? 1 : 0;
  const length = hash.length - from;
  let text = hash.slice(from, from + MAX_LINK_CHARS + 1);
  if (length > MAX_LINK_CHARS) {
    // Cut at a parameter boundary, so the last parameter read is whole; count (not split) what is dropped.
    const cut = text.lastIndexOf('&', MAX_LINK_CHARS);
    const kept = cut > 0 ? cut : MAX_LINK_CHARS;
    let dropped = 0;
    for (let i = from + kept; i < hash.length; i++)
      if (hash.charCodeAt(i) !== 38 && (i === from + kept || hash.charCodeAt(i - 1) === 38)) dropped++; // 38: '&'
    problems.push(
      `the link is ${count(length)} characters long and a view link is at most ${count(MAX_LINK_CHARS)}: only its first ${count(kept)} characters were read${dropped ? `; ${count(dropped)} parameter${dropped === 1 ? '' : 's'} after that ${dropped === 1 ? 'was' : 'were'} dropped` : ''}`,
    );
    text = text.slice(0, kept);
  }
  const p = new URLSearchParams(text);
  const view: ViewState = { ...base };
  const m = p.get('m');
  if (m !== null) {
    // Only the first entries are read (the view keeps MAX_MODELS); the rest are counted, not split.
    const listed = m.split(',', MAX_SCANNED).filter(Boolean);
    let entries = 0;
    for (let i = 0; i < m.length; i++) if (m.charCodeAt(i) !== 44 && (i === 0 || m.charCodeAt(i - 1) === 44)) entries++; // 44: ','
    const unread = entries - listed.length;
    const valid = listed.filter((id) => id.length <= 80 && ID.test(id));
    const invalid = listed.filter((id) => !(id.length <= 80 && ID.test(id)));
    if (invalid.length)
      problems.push(
        `the link's model list has ${invalid.length === 1 ? 'an entry that is not a model id' : `${count(invalid.length)} entries that are not model ids`} (${sample(invalid)}): left out`,
      );
    if (valid.length + unread > MAX_MODELS)
      problems.push(
        `the link names ${count(valid.length + unread)} models and a view shows at most ${MAX_MODELS}: kept the first ${Math.min(MAX_MODELS, valid.length)} (${valid.slice(0, MAX_MODELS).join(', ')}), dropped the other ${count(valid.length + unread - Math.min(MAX_MODELS, valid.length))}`,
      );
    const ids = [...new Set(valid.slice(0, MAX_MODELS))];
    if (ids.length) view.models = ids;
    else if (!invalid.length) problems.push("the link's model list is empty: kept the models in view");
  }
  const s = p.get('s');
  const img = p.get('img');
  if (img !== null) {
    const name = p.get('in') ?? undefined;
    if (/^[0-9a-f]{16}$/.test(img)) view.image = { hash: img, ...(name ? { name: name.slice(0, 200) } : {}) };
    else problems.push(`the link's image ${quote(img)} is not an image id (16 hex digits)`);
  } else if (s !== null) {
    if (s.length <= 200 && /^[\w.-]+\.(png|jpe?g|webp)$/i.test(s)) view.image = { sample: s };
    else problems.push(`the link's sample ${quote(s)} is not a gallery image name`);
  }
  for (const [key, field] of [
    ['t', 'threshold'],
    ['o', 'opacity'],
  ] as const) {
    const raw = p.get(key);
    if (raw === null) continue;
    const n = raw.trim() === '' || raw.length > 32 ? NaN : Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) view[field] = n;
    else problems.push(`the link's ${field} ${quote(raw)} is not a number between 0 and 1`);
  }
  const b = p.get('b');
  if (b !== null) {
    if (b === 'webgpu' || b === 'wasm' || b === 'auto') view.backend = b;
    else problems.push(`the link's backend ${quote(b)} is not webgpu or wasm`);
  }
  const q = p.get('q');
  if (q !== null) {
    const sel = q.length <= 100 ? /^([a-z0-9][a-z0-9._-]*):(o2o|o2m):(\d{1,5})$/.exec(q) : null;
    if (sel) view.selection = { model: sel[1], block: BLOCKS[sel[2] as 'o2o' | 'o2m'], query: Number(sel[3]) };
    else problems.push(`the link's selected query ${quote(q)} is not model:o2o|o2m:index`);
  }
  const methods = { ...base.methods } as Record<string, object>;
  for (const slice of slices()) methods[slice.id] = decodeSlice(slice.link, base.methods[slice.id], p, problems);
  view.methods = methods as MethodSettings;
  const extras = decodeExtras(p, problems);
  const known = knownKeys();
  const unknown = [...new Set([...p.keys()].filter((k) => !known.has(k)))];
  if (unknown.length)
    problems.push(
      `the link has ${unknown.length === 1 ? 'a parameter' : `${count(unknown.length)} parameters`} this app does not read (${sample(unknown)}): ignored`,
    );
  return { view, problems, extras, payload: split.payload };
}
