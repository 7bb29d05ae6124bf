/**
 * The shareable part of the view, and its URL-fragment form. The store holds the view; the fragment is
 * derived from it (and restores it), so a link reopens the same view. Only ids and settings travel —
 * never image pixels: images stay in the user's browser.
 */

export interface ViewState {
  /** Zoo pair or model ids, left to right. */
  models: string[];
  /** A gallery sample name, or null for a user's own image (which a link cannot carry). */
  sample: string | null;
  /** Detection score threshold, 0..1. */
  threshold: number;
  /** Mask overlay opacity, 0..1. */
  opacity: number;
  backend: 'auto' | 'webgpu' | 'wasm';
}

export const DEFAULT_VIEW: ViewState = {
  models: ['seg-teacher', 'seg-student-attnfd'],
  sample: 'factory-test-000.png',
  threshold: 0.5,
  opacity: 0.55,
  backend: 'auto',
};

const ID = /^[a-z0-9][a-z0-9._-]*$/;

export function encodeView(v: ViewState): string {
  const p = new URLSearchParams();
  p.set('m', v.models.join(','));
  if (v.sample) p.set('s', v.sample);
  p.set('t', v.threshold.toFixed(2));
  p.set('o', v.opacity.toFixed(2));
  if (v.backend !== 'auto') p.set('b', v.backend);
  return `#${p.toString()}`;
}

export interface DecodedView {
  view: ViewState;
  /** What in the link was unusable and was replaced by the default, in words for the user. */
  problems: string[];
}

/** Parse a fragment; anything malformed falls back to the current/default value and is reported. */
export function decodeView(hash: string, base: ViewState = DEFAULT_VIEW): DecodedView {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const problems: string[] = [];
  const view = { ...base };
  const m = p.get('m');
  if (m !== null) {
    const ids = m.split(',').filter(Boolean);
    if (ids.length >= 1 && ids.every((id) => ID.test(id))) view.models = ids;
    else problems.push(`the link's model list "${m}" is not a list of model ids`);
  }
  const s = p.get('s');
  if (s !== null) {
    if (/^[\w.-]+\.(png|jpe?g|webp)$/i.test(s)) view.sample = s;
    else problems.push(`the link's sample "${s}" is not a gallery image name`);
  }
  for (const [key, field] of [['t', 'threshold'], ['o', 'opacity']] as const) {
    const raw = p.get(key);
    if (raw === null) continue;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) view[field] = n;
    else problems.push(`the link's ${field} "${raw}" is not a number between 0 and 1`);
  }
  const b = p.get('b');
  if (b !== null) {
    if (b === 'webgpu' || b === 'wasm' || b === 'auto') view.backend = b;
    else problems.push(`the link's backend "${b}" is not webgpu or wasm`);
  }
  return { view, problems };
}
