/**
 * Gradient-free saliency for any model with a classification, segmentation or detection output: occlusion and
 * RISE (per class), D-RISE (a clicked detection); teacher and student on the same masks, side by side.
 */
import { lazy } from 'react';
import { flag, intIn, type LinkSlice, oneOf, unitNumber } from '../../state/linkCodec';
import { type MethodSpec, someModel } from '../types';
import { saliencyOutput } from './targets';

export interface SaliencySettings {
  method: 'rise' | 'occlusion';
  /** RISE: number of masks N, cells per side s, probability p a cell is kept, generator seed. */
  masks: number;
  cells: number;
  keep: number;
  seed: number;
  /** Occlusion: patch side and stride in % of the image's side; 0: chosen from the models' input size. */
  patch: number;
  stride: number;
  /** What masked pixels become. */
  fill: 'mean' | 'blur' | 'zero';
  /** Deletion / insertion steps (0: no curves). */
  steps: number;
  /** The class explained (classifiers, segmenters); -1: the first model's own answer. */
  classId: number;
  /** A segmenter's score for the class: mean probability over the image, or share of its pixels. */
  measure: 'probability' | 'area';
  /** Ground-truth regions outlined over the maps. */
  outlines: boolean;
}

export const SALIENCY_DEFAULTS: SaliencySettings = {
  method: 'rise',
  masks: 500,
  cells: 8,
  keep: 0.5,
  seed: 1,
  patch: 0,
  stride: 0,
  fill: 'mean',
  steps: 16,
  classId: -1,
  measure: 'probability',
  outlines: true,
};

const link: LinkSlice<SaliencySettings> = {
  defaults: SALIENCY_DEFAULTS,
  params: [
    { key: 'sa', field: 'method', label: 'saliency method', codec: oneOf(['rise', 'occlusion'] as const) },
    { key: 'sn', field: 'masks', label: 'RISE masks', codec: intIn(1, 20000) },
    { key: 'sg', field: 'cells', label: 'RISE grid cells', codec: intIn(2, 64) },
    { key: 'sp', field: 'keep', label: 'RISE keep probability', codec: unitNumber },
    { key: 'ss', field: 'seed', label: 'saliency seed', codec: intIn(0, 999999) },
    { key: 'sop', field: 'patch', label: 'occlusion patch %', codec: intIn(0, 100) },
    { key: 'sos', field: 'stride', label: 'occlusion stride %', codec: intIn(0, 100) },
    { key: 'sf', field: 'fill', label: 'saliency fill', codec: oneOf(['mean', 'blur', 'zero'] as const) },
    { key: 'sk', field: 'steps', label: 'deletion/insertion steps', codec: intIn(0, 100) },
    { key: 'scl', field: 'classId', label: 'saliency class', codec: intIn(-1, 9999) },
    { key: 'sq', field: 'measure', label: 'segmentation score', codec: oneOf(['probability', 'area'] as const) },
    { key: 'sgt', field: 'outlines', label: 'saliency ground-truth outlines', codec: flag },
  ],
};

export const saliency: MethodSpec<SaliencySettings> & { id: 'saliency' } = {
  id: 'saliency',
  title: 'Saliency (occlusion, RISE, D-RISE): where each model looks, on the same masks',
  applies: (models) =>
    someModel(
      models,
      saliencyOutput,
      'no model in view has a classification, segmentation or detection output (class_logits, multilabel_logits, segmentation_logits, a one-to-one box block)',
    ),
  // a classifier's logits come to the page (the class it answers); the others' task outputs already do
  outputs: (c) => {
    const o = saliencyOutput(c);
    return { page: o?.kind === 'class' ? [o.output.name] : [] };
  },
  link,
  View: lazy(() => import('./SaliencyView')),
};
