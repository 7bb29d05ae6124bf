/** SAK: one student with an adapter path per teacher and a router; per-teacher similarity maps. */
import { lazy } from 'react';
import type { Contract, ContractOutput } from '../../contract';
import { type MethodSpec, someModel } from '../types';

export const adapterFeatures = (c: Contract) =>
  c.outputs.filter((o) => o.role === 'adapter_features' && o.teacher && o.teacher_output);
export const routerWeights = (c: Contract) => c.outputs.find((o) => o.role === 'router_weights' && o.paths);

export const sak: MethodSpec & { id: 'sak' } = {
  id: 'sak',
  title: 'SAK: one student, several teachers',
  applies: (models) =>
    someModel(
      models,
      (c) => adapterFeatures(c).length,
      'no model in view has adapter paths to teachers (adapter_features)',
    ),
  // A teacher's compared output is named by the student; token features are the ones no other view brings.
  outputs: (c) => ({
    page: [...adapterFeatures(c), routerWeights(c), ...c.outputs.filter((o) => o.role === 'token_features')]
      .filter((o): o is ContractOutput => !!o)
      .map((o) => o.name),
  }),
  View: lazy(() => import('./SakView')),
};
