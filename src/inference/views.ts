/** Which method views a contract supports, and the outputs each needs — asked of the contract, never of names. */
import type { Contract, ContractOutput, SelfAttentionOutput } from '../contract';

export interface CbamSite {
  name: string;
  channel: ContractOutput;
  spatial: ContractOutput;
  refined?: ContractOutput;
  projected?: ContractOutput;
}

export function cbamSites(c: Contract): CbamSite[] {
  const sites = new Map<string, Partial<CbamSite>>();
  for (const o of c.outputs) {
    if (!o.site) continue;
    const s = sites.get(o.site) ?? { name: o.site };
    if (o.role === 'cbam_channel_gate') s.channel = o;
    if (o.role === 'cbam_spatial_gate') s.spatial = o;
    if (o.role === 'cbam_refined') s.refined = o;
    if (o.role === 'attnfd_projected') s.projected = o;
    sites.set(o.site, s);
  }
  return [...sites.values()].filter((s): s is CbamSite => !!s.channel && !!s.spatial);
}

/** The ViT view's inputs: CLS attention rows of every layer, and (optionally) CST's cosine. */
export function vitAttention(c: Contract): { rows: ContractOutput; cosine?: ContractOutput } | null {
  const rows = c.outputs.find((o) => o.role === 'cls_attention' && o.keys === 'patches');
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

export const encoderAttention = (c: Contract) => c.outputs.find((o) => o.role === 'encoder_attention');
/** A query block's last-decoder-layer cross-attention (head mean) [1, Q, N], when the contract declares one. */
export const crossAttention = (c: Contract, block: 'one_to_one' | 'one_to_many') =>
  c.outputs.find((o) => o.role === 'cross_attention' && o.block === block && o.grid);
export const adapterFeatures = (c: Contract) => c.outputs.filter((o) => o.role === 'adapter_features');
export const routerWeights = (c: Contract) => c.outputs.find((o) => o.role === 'router_weights');
const tokenFeatures = (c: Contract) => c.outputs.find((o) => o.role === 'token_features');

/**
 * Outputs that stay in the inference worker instead of coming to the page: the full attention stack (13 MB
 * for the zoo ViT) is only ever reduced — rolled out — and that happens in the worker, on the GPU when the
 * session is WebGPU.
 */
export const workerHeldOutputs = (c: Contract): string[] => {
  const stack = vitSelfAttention(c);
  return stack ? [stack.name] : [];
};

/** Outputs the method views need in addition to the task outputs (brought to the page). */
export function viewOutputs(c: Contract): string[] {
  const vit = vitAttention(c);
  return [
    ...cbamSites(c).flatMap((s) => [s.channel, s.spatial, s.refined, s.projected]),
    vit?.rows, vit?.cosine, encoderAttention(c), ...adapterFeatures(c), routerWeights(c), tokenFeatures(c),
    ...c.outputs.filter((o) => o.block === 'one_to_many' && (o.role === 'box_logits' || o.role === 'boxes')),
    crossAttention(c, 'one_to_one'), crossAttention(c, 'one_to_many'),
  ].filter((o): o is ContractOutput => !!o).map((o) => o.name);
}
