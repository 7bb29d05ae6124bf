/** ViT attention → pseudo-masks (DINO mass rule, CST score rule, attention rollout). */
import { lazy } from 'react';
import type { Contract, ContractOutput, SelfAttentionOutput } from '../../contract';
import { flag, intIn, type LinkSlice, oneOf, unitNumber } from '../../state/linkCodec';
import { type MethodSpec, someModel } from '../types';

/** The ViT view's inputs: CLS attention rows of every layer, and (optionally) CST's cosine. */
export function vitAttention(c: Contract): { rows: ContractOutput; cosine?: ContractOutput } | null {
  const rows = c.outputs.find((o) => o.role === 'cls_attention' && o.keys === 'patches' && o.grid && o.patch);
  return rows ? { rows, cosine: c.outputs.find((o) => o.role === 'cls_key_cosine' && o.keys === 'patches') } : null;
}

/**
 * Every layer's full self-attention [1, L, H, T, T] (contract 1.2), what attention rollout needs. Only an output
 * whose token axes are CLS + the grid's patches (cls_token 'leads') qualifies, since rollout reads CLS's row.
 */
export function vitSelfAttention(c: Contract): SelfAttentionOutput | null {
  const o = c.outputs.find((o) => o.role === 'self_attention' && o.cls_token === 'leads');
  return o ? (o as SelfAttentionOutput) : null;
}

export interface VitSettings {
  /** Attention layer (-1 = last). */
  layer: number;
  /** DINO mass and CST score thresholds. */
  mass: number;
  score: number;
  /** The map the masks are cut from: the CLS attention of `layer`, or the rollout of layers 0..layer. */
  map: 'cls' | 'rollout';
  /** Rollout's identity (residual) term ½A + ½I on or off. */
  identity: boolean;
}

const link: LinkSlice<VitSettings> = {
  defaults: { layer: -1, mass: 0.6, score: 0.4, map: 'cls', identity: true },
  params: [
    { key: 'l', field: 'layer', label: 'layer', codec: intIn(-1, 99) },
    { key: 'ma', field: 'mass', label: 'DINO mass', codec: unitNumber },
    { key: 'sc', field: 'score', label: 'CST score', codec: unitNumber },
    { key: 'vm', field: 'map', label: 'ViT map', codec: oneOf(['cls', 'rollout'] as const) },
    { key: 'ri', field: 'identity', label: 'rollout identity switch', codec: flag },
  ],
};

export const vit: MethodSpec<VitSettings> & { id: 'vit' } = {
  id: 'vit',
  title: 'ViT attention → pseudo-masks',
  applies: (models) =>
    someModel(models, vitAttention, 'no model in view exports CLS attention rows over patches (cls_attention)'),
  outputs: (c) => {
    const v = vitAttention(c);
    const stack = vitSelfAttention(c);
    return { page: v ? [v.rows.name, ...(v.cosine ? [v.cosine.name] : [])] : [], worker: stack ? [stack.name] : [] };
  },
  link,
  View: lazy(() => import('./VitView')),
};
