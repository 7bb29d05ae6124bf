/** H-DETR: one-to-one vs one-to-many assignment of ground-truth objects to queries. */
import { lazy } from 'react';
import { DEFAULT_WEIGHTS, type MatchWeights } from '../../analysis/matching';
import { type Codec, intIn, type LinkSlice, oneOf } from '../../state/linkCodec';
import { blockOutputs, isDetector } from '../detr/contract';
import { type MethodSpec, someModel } from '../types';

/** Largest K the view offers, and the largest cost weight a link may set. */
export const MAX_K = 6;
const MAX_WEIGHT = 100;

export interface HdetrSettings {
  mode: 'o2o' | 'o2m';
  k: number;
  weights: MatchWeights;
}

const short = (v: number) => String(+v.toFixed(3));
const weightsCodec: Codec<MatchWeights> = {
  encode: (w) => [w.cls, w.l1, w.giou].map(short).join(','),
  decode: (raw) => {
    const n = raw.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    return n.length === 3 && n.every((x) => Number.isFinite(x) && x >= 0 && x <= MAX_WEIGHT)
      ? { cls: n[0], l1: n[1], giou: n[2] }
      : undefined;
  },
  expected: `three numbers from 0 to ${MAX_WEIGHT} (class, L1, GIoU)`,
};

const link: LinkSlice<HdetrSettings> = {
  defaults: { mode: 'o2o', k: 3, weights: DEFAULT_WEIGHTS },
  params: [
    { key: 'hm', field: 'mode', label: 'matching mode', codec: oneOf(['o2o', 'o2m'] as const) },
    { key: 'k', field: 'k', label: 'K', codec: intIn(1, MAX_K) },
    { key: 'w', field: 'weights', label: 'cost weights', codec: weightsCodec },
  ],
};

export const hdetr: MethodSpec<HdetrSettings> & { id: 'hdetr' } = {
  id: 'hdetr',
  title: 'DETR queries: one-to-one vs one-to-many assignment',
  applies: (models) =>
    someModel(models, isDetector, 'no model in view has a one-to-one query block (box_logits + boxes)'),
  outputs: (c) => ({ page: blockOutputs(c) }),
  link,
  View: lazy(() => import('./HdetrView')),
};
