/** DETR query attention: where a clicked detection's query looks (last decoder layer cross-attention). */
import { lazy } from 'react';
import { blockOutputs, crossAttention, isDetector } from '../detr/contract';
import { type MethodSpec, someModel } from '../types';

export const detrQueries: MethodSpec & { id: 'detr-queries' } = {
  id: 'detr-queries',
  title: 'DETR queries: where a detection looks (decoder cross-attention)',
  applies: (models) =>
    someModel(
      models,
      (c) => isDetector(c) && crossAttention(c, 'one_to_one'),
      "no detector in view exports its queries' cross-attention (cross_attention over a grid)",
    ),
  outputs: (c) => ({ page: blockOutputs(c) }),
  View: lazy(() => import('./QueryAttentionView')),
};
