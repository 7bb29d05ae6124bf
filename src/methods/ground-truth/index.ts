/** The ground truth the DETR views use, and an editor for it: boxes drawn by the user, imported COCO, gallery, teacher. */
import { lazy } from 'react';
import { encoderAttention, isDetector } from '../detr/contract';
import { type MethodSpec, someModel } from '../types';

export const groundTruth: MethodSpec & { id: 'ground-truth' } = {
  id: 'ground-truth',
  title: 'Ground truth for the detection views',
  applies: (models) =>
    someModel(
      models,
      (c) => isDetector(c) || encoderAttention(c),
      'no detector (one-to-one query block) or encoder attention in view',
    ),
  outputs: () => ({ page: [] }),
  View: lazy(() => import('./GroundTruthView')),
};
