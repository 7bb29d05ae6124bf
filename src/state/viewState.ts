/**
 * The shareable part of the view, and its URL-fragment form. The store holds the view; the fragment is
 * derived from it (and restores it), so a link reopens the same view. Only ids and settings travel —
 * never image pixels: images stay in the user's browser.
 */

import { DEFAULT_WEIGHTS, type MatchWeights } from '../analysis/matching';

/** A clicked detection: a model's query in one of its query blocks. */
export interface QuerySelection {
  model: string;
  block: 'one_to_one' | 'one_to_many';
  query: number;
}

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
  /** ViT view: the map the masks are made from — the CLS attention of `layer`, or the rollout of layers 0..layer. */
  vitMap: 'cls' | 'rollout';
  /** Rollout's identity (residual) term ½A + ½I on or off. */
  rolloutIdentity: boolean;
  /** H-DETR view: one-to-one or one-to-many matching, K copies, cost weights. */
  hmode: 'o2o' | 'o2m';
  k: number;
  weights: MatchWeights;
  /** The clicked detection whose cross-attention the DETR views show (null: none). */
  selection: QuerySelection | null;
  /** KS-DETR view: which attention is set against the fg mask, and the clicked image point (pixels) for 'point'. */
  ksSource: 'mean' | 'point' | 'query';
  point: [number, number] | null;
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
  vitMap: 'cls',
  rolloutIdentity: true,
  hmode: 'o2o',
  k: 3,
  weights: DEFAULT_WEIGHTS,
  selection: null,
  ksSource: 'mean',
  point: null,
};

/** Largest K the H-DETR view offers, and the largest cost weight a link may set. */
export const MAX_K = 6;
const MAX_WEIGHT = 100;
const BLOCKS = { o2o: 'one_to_one', o2m: 'one_to_many' } as const;
const num = (v: number) => String(+v.toFixed(3));

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
  if (v.vitMap !== 'cls') p.set('vm', v.vitMap);
  if (!v.rolloutIdentity) p.set('ri', '0');
  if (v.hmode !== 'o2o') p.set('hm', v.hmode);
  if (v.k !== DEFAULT_VIEW.k) p.set('k', String(v.k));
  const w = v.weights;
  if (w.cls !== DEFAULT_WEIGHTS.cls || w.l1 !== DEFAULT_WEIGHTS.l1 || w.giou !== DEFAULT_WEIGHTS.giou) p.set('w', [w.cls, w.l1, w.giou].map(num).join(','));
  if (v.selection) p.set('q', `${v.selection.model}:${v.selection.block === 'one_to_many' ? 'o2m' : 'o2o'}:${v.selection.query}`);
  if (v.ksSource !== 'mean') p.set('ks', v.ksSource);
  if (v.point) p.set('pt', v.point.map(num).join(','));
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
  /** A parameter that must be one of `allowed`: set it, or report it in `problem`'s words. */
  const oneOf = <T extends string>(key: string, allowed: readonly T[], problem: string, set: (v: T) => void) => {
    const raw = p.get(key);
    if (raw === null) return;
    if ((allowed as readonly string[]).includes(raw)) set(raw as T);
    else problems.push(`the link's ${problem.replace('%s', `"${raw}"`)}`);
  };
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
  oneOf('b', ['webgpu', 'wasm', 'auto'] as const, 'backend %s is not webgpu or wasm', (v) => (view.backend = v));
  oneOf('vm', ['cls', 'rollout'] as const, 'ViT map %s is not cls or rollout', (v) => (view.vitMap = v));
  oneOf('ri', ['0', '1'] as const, 'rollout identity switch %s is not 0 or 1', (v) => (view.rolloutIdentity = v === '1'));
  oneOf('hm', ['o2o', 'o2m'] as const, 'matching mode %s is not o2o or o2m', (v) => (view.hmode = v));
  const k = p.get('k');
  if (k !== null) {
    if (/^\d{1,2}$/.test(k) && Number(k) >= 1 && Number(k) <= MAX_K) view.k = Number(k);
    else problems.push(`the link's K "${k}" is not a whole number from 1 to ${MAX_K}`);
  }
  const w = p.get('w');
  if (w !== null) {
    const parts = w.split(',');
    const n = parts.map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (n.length === 3 && n.every((x) => Number.isFinite(x) && x >= 0 && x <= MAX_WEIGHT)) view.weights = { cls: n[0], l1: n[1], giou: n[2] };
    else problems.push(`the link's cost weights "${w}" are not three numbers from 0 to ${MAX_WEIGHT} (class, L1, GIoU)`);
  }
  const q = p.get('q');
  if (q !== null) {
    const m = /^([a-z0-9][a-z0-9._-]*):(o2o|o2m):(\d{1,5})$/.exec(q);
    if (m) view.selection = { model: m[1], block: BLOCKS[m[2] as 'o2o' | 'o2m'], query: Number(m[3]) };
    else problems.push(`the link's selected query "${q}" is not model:o2o|o2m:index`);
  }
  oneOf('ks', ['mean', 'point', 'query'] as const, 'KS-DETR attention source %s is not mean, point or query', (v) => (view.ksSource = v));
  const pt = p.get('pt');
  if (pt !== null) {
    const n = pt.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (n.length === 2 && n.every((x) => Number.isFinite(x) && x >= 0 && x <= 1e5)) view.point = [n[0], n[1]];
    else problems.push(`the link's point "${pt}" is not two pixel coordinates`);
  }
  return { view, problems };
}
