/** AttnFD: CBAM channel and spatial gates per site, and the teacher↔student attention-feature distance. */
import { lazy } from 'react';
import type { Contract, ContractOutput } from '../../contract';
import { type MethodSpec, someModel } from '../types';

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

export const attnfd: MethodSpec & { id: 'attnfd' } = {
  id: 'attnfd',
  title: 'CBAM gates (AttnFD)',
  applies: (models) =>
    someModel(models, (c) => cbamSites(c).length, 'no model in view declares a CBAM site (channel + spatial gate)'),
  outputs: (c) => ({
    page: cbamSites(c)
      .flatMap((s) => [s.channel, s.spatial, s.refined, s.projected])
      .filter((o): o is ContractOutput => !!o)
      .map((o) => o.name),
  }),
  View: lazy(() => import('./CbamView')),
};
