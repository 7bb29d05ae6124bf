/**
 * Each method's per-image numbers for a data-set row (pure), where the models' contracts allow them: AttnFD's
 * distance to the teacher per CBAM site, SAK's router weights. (KS-DETR's foreground share and the ViT
 * pseudo-mask IoU depend on the view's settings and are not recorded yet.)
 */
import { computeCbam } from '../methods/attnfd/compute';
import { computeSak } from '../methods/sak/compute';
import type { ModelInView } from '../methods/types';
import type { Run } from '../state/runs';
import type { ResultRow } from './results';

export type MethodNumbers = NonNullable<ResultRow['methods']>;

export function methodNumbers(models: ModelInView[], runs: Record<string, Run>): Record<string, MethodNumbers> {
  const out: Record<string, MethodNumbers> = {};
  const of = (id: string) => {
    out[id] ??= {};
    return out[id];
  };
  const cbam = computeCbam(models, runs);
  if (typeof cbam !== 'string')
    for (const site of cbam.sites)
      for (const card of site.cards) {
        if (!card.distance) continue;
        const m = of(card.modelId);
        m.attnfd ??= { sites: [] };
        m.attnfd.sites!.push({
          site: site.name,
          distance: card.distance.distance,
          cosine: card.distance.cosine,
        });
      }
  const sak = computeSak(models, runs);
  if (typeof sak !== 'string' && sak.router)
    of(sak.student).sak = { router: Object.fromEntries(sak.router.map((r) => [r.path, r.weight])) };
  return out;
}
