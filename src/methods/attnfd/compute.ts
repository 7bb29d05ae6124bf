/** The AttnFD view model (pure): per site and model, the spatial gate, top channel gates and the distance to the teacher. */
import { attnfdDistance, energyMap, range, topChannels } from '../../analysis/attention';
import type { Run } from '../../state/runs';
import type { ModelInView } from '../types';
import { cbamSites } from './index';

export interface SiteCard {
  modelId: string;
  spatial: { values: Float32Array; grid: [number, number]; lo: number; hi: number; upsample: string };
  channels: { label: string; value: number }[];
  channelCount: number;
  /** Against the reference model at this site, and how it was computed; null for the reference itself or when not comparable. */
  distance: { kind: 'connector' | 'energy'; distance: number; cosine: number } | null;
}

export interface CbamModel {
  reference: string;
  sites: { name: string; cards: SiteCard[] }[];
}

/**
 * attnfdDistance with the cosine clamped to [-1, 1]: rounding puts a parallel pair at cos 1 + 2⁻⁵², whose
 * distance −4e-16 the view showed as "-0.000" (found by compute.test.ts).
 */
function clampedDistance(t: Float32Array, s: Float32Array): { distance: number; cosine: number } {
  const cosine = Math.min(1, Math.max(-1, attnfdDistance(t, s).cosine));
  return { distance: 2 - 2 * cosine, cosine };
}

/**
 * The reference is the first teacher in view (else the first model with sites); every other model is compared
 * with it: through its trained AttnFD connector when it has one of the teacher's width, else by width-free
 * energy maps (channel mean of squares).
 */
export function computeCbam(models: ModelInView[], runs: Record<string, Run>): CbamModel | string {
  const withSites = models.filter((m) => cbamSites(m.contract).length > 0);
  if (!withSites.length) return 'no model in view has CBAM sites';
  const reference = withSites.find((m) => m.contract.model.role === 'teacher') ?? withSites[0];
  const names = [...new Set(withSites.flatMap((m) => cbamSites(m.contract).map((s) => s.name)))];
  const refRun = runs[reference.id];
  const sites = names.map((name) => {
    const refSite = cbamSites(reference.contract).find((s) => s.name === name);
    const t = refSite?.refined && refRun?.outputs[refSite.refined.name];
    const cards: SiteCard[] = [];
    for (const m of withSites) {
      const site = cbamSites(m.contract).find((s) => s.name === name);
      const run = runs[m.id];
      const spatial = site && run?.outputs[site.spatial.name];
      const channel = site && run?.outputs[site.channel.name];
      if (!site || !spatial || !channel) continue;
      const [lo, hi] = range(spatial.data);
      let distance: SiteCard['distance'] = null;
      if (m.id !== reference.id && t) {
        const proj = site.projected && run.outputs[site.projected.name];
        const own = site.refined && run.outputs[site.refined.name];
        if (proj && proj.data.length === t.data.length)
          distance = { kind: 'connector', ...clampedDistance(t.data, proj.data) };
        else if (own && own.dims[2] === t.dims[2] && own.dims[3] === t.dims[3])
          distance = {
            kind: 'energy',
            ...clampedDistance(energyMap(t.data, t.dims[1]), energyMap(own.data, own.dims[1])),
          };
      }
      cards.push({
        modelId: m.id,
        spatial: {
          values: spatial.data,
          grid: [spatial.dims[2], spatial.dims[3]],
          lo,
          hi,
          upsample: site.spatial.upsample ?? 'bilinear',
        },
        channels: topChannels(channel.data, 12).map((c) => ({ label: String(c.channel), value: c.value })),
        channelCount: channel.dims[1],
        distance,
      });
    }
    return { name, cards };
  });
  return { reference: reference.id, sites };
}
