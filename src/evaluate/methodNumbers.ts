/**
 * Each method's per-image numbers for a data-set row (pure), where the models' contracts and the ground truth
 * allow them: AttnFD's distance to the teacher per CBAM site, SAK's router weights, KS-DETR's share of the
 * encoder's mean attention on the ground-truth boxes, and the IoU of the ViT's DINO pseudo-mask (at the view's
 * layer and mass) with the ground-truth foreground.
 */
import type { GtObject } from '../analysis/groundTruth';
import { computeCbam } from '../methods/attnfd/compute';
import { computeKs } from '../methods/ks-detr/compute';
import { computeSak } from '../methods/sak/compute';
import type { ModelInView } from '../methods/types';
import { computeVit } from '../methods/vit/compute';
import type { VitSettings } from '../methods/vit/index';
import type { Run } from '../state/runs';
import type { ResultRow } from './results';

export type MethodNumbers = NonNullable<ResultRow['methods']>;

export function methodNumbers(
  models: ModelInView[],
  runs: Record<string, Run>,
  truth: { objects: GtObject[] | null; classMap?: Uint8Array | null; width: number; height: number } | null,
  vit: VitSettings,
): Record<string, MethodNumbers> {
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
  for (const m of models) {
    const run = runs[m.id];
    if (!run) continue;
    if (truth?.objects?.length) {
      const ks = computeKs(m.contract, run, truth.objects, { source: 'mean', point: null }, undefined);
      if (typeof ks !== 'string' && ks.shares) of(m.id).ks = { foreground_share: ks.shares.mean };
    }
    if (truth?.classMap) {
      const mask = truth.classMap.map((k) => (k > 0 ? 1 : 0));
      const objects = truth.objects?.length ?? 0;
      const v = computeVit({
        contract: m.contract,
        run,
        settings: { ...vit, map: 'cls' },
        rollout: null,
        truth: { mask, width: truth.width, height: truth.height, objects },
        reference: null,
      });
      if (typeof v !== 'string' && v.truthIoU) of(m.id).vit = { pseudo_mask_iou: v.truthIoU.dino };
    }
  }
  return out;
}
