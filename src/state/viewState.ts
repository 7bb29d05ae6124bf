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
  /** ViT view: attention layer (-1 = last), DINO mass and CST score thresholds. */
  layer: number;
  mass: number;
  score: number;
}

export const DEFAULT_VIEW: ViewState = {
  models: ['seg-teacher', 'seg-student-attnfd'],
  sample: 'factory-test-000.png',
  threshold: 0.5,
  opacity: 0.55,
  backend: 'auto',
  layer: -1,
  mass: 0.6,
  score: 0.4,
};

const ID = /^[a-z0-9][a-z0-9._-]*$/;

export function encodeView(v: ViewState): string {
  const p = new URLSearchParams();
  p.set('m', v.models.join(','));
  if (v.sample) p.set('s', v.sample);
  p.set('t', v.threshold.toFixed(2));
  p.set('o', v.opacity.toFixed(2));
  if (v.backend !== 'auto') p.set('b', v.backend);
  if (v.layer !== -1) p.set('l', String(v.layer));
  if (v.mass !== DEFAULT_VIEW.mass) p.set('ma', v.mass.toFixed(2));
  if (v.score !== DEFAULT_VIEW.score) p.set('sc', v.score.toFixed(2));
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
  for (const [key, field] of [['t', 'threshold'], ['o', 'opacity'], ['ma', 'mass'], ['sc', 'score']] as const) {
    const raw = p.get(key);
    if (raw === null) continue;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) view[field] = n;
    else problems.push(`the link's ${field} "${raw}" is not a number between 0 and 1`);
  }
  const l = p.get('l');
  if (l !== null) {
    if (/^(-1|\d{1,2})$/.test(l)) view.layer = Number(l);
    else problems.push(`the link's layer "${l}" is not a layer index`);
  }
  const b = p.get('b');
  if (b !== null) {
    if (b === 'webgpu' || b === 'wasm' || b === 'auto') view.backend = b;
    else problems.push(`the link's backend "${b}" is not webgpu or wasm`);
  }
  return { view, problems };
}
