/** The ViT view model (pure): per-head CLS maps, the map masks are cut from, DINO/CST masks and their IoUs. */
import { cstScoreMask, dinoMassMask, headMean } from '../../analysis/attention';
import { maskIoU } from '../../analysis/cocoMasks';
import type { Placement } from '../../analysis/geometry';
import { patchMaskToImage } from '../../analysis/patchMask';
import { patchesOf } from '../../analysis/rollout';
import { type ClassMap, classAt } from '../../app/task';
import type { Contract } from '../../contract';
import type { Run } from '../../state/runs';
import { type VitSettings, vitAttention } from './index';

export interface VitRollout {
  row: Float32Array;
  upTo: number;
  identity: boolean;
}

export interface VitModel {
  grid: [number, number];
  patch: number;
  layers: number;
  heads: number;
  layer: number;
  perHead: Float32Array[];
  /** The map the DINO mask is cut from, and its name. */
  mean: Float32Array;
  mapName: string;
  dino: Uint8Array;
  cst: Uint8Array | null;
  /** IoU against the annotated foreground (image pixels) and against a segmentation model's foreground. */
  truthIoU: { dino: number; cst: number | null; objects: number } | null;
  referenceIoU: { id: string; dino: number; cst: number | null } | null;
}

/** Largest side of the grid of image points two masks are compared on (exact for images up to that size). */
const SAMPLE_SIDE = 320;

/**
 * IoU of a patch mask (in the model's input, placed by `place`) against a segmentation model's foreground (its
 * class map, placed by its own run), both read at the same image points: models of any input size and resize rule.
 */
export function patchVsClassMapIoU(
  mask: Uint8Array,
  grid: readonly [number, number],
  patch: number,
  place: Placement,
  ref: ClassMap,
  width: number,
  height: number,
): number {
  const step = Math.max(1, Math.max(width, height) / SAMPLE_SIDE);
  // At least one sample per axis: a 1×640 image stepped by 2 from x = 1 had none and scored a perfect 1.
  const nx = width > 0 ? Math.max(1, Math.round(width / step)) : 0;
  const ny = height > 0 ? Math.max(1, Math.round(height / step)) : 0;
  let inter = 0;
  let union = 0;
  for (let j = 0; j < ny; j++) {
    const y = ((j + 0.5) * height) / ny; // pixel centres when step is 1
    const r = Math.floor((y * place.scaleY + place.offsetY) / patch);
    for (let i = 0; i < nx; i++) {
      const x = ((i + 0.5) * width) / nx;
      const c = Math.floor((x * place.scaleX + place.offsetX) / patch);
      const a = r >= 0 && r < grid[0] && c >= 0 && c < grid[1] && mask[r * grid[1] + c] > 0;
      const k = classAt(ref, x, y);
      const b = k !== null && k > 0;
      if (a && b) inter++;
      if (a || b) union++;
    }
  }
  return union ? inter / union : 1;
}

export function computeVit(input: {
  contract: Contract;
  run: Run;
  settings: VitSettings;
  rollout: VitRollout | null;
  truth: { mask: Uint8Array; width: number; height: number; objects: number } | null;
  reference: { id: string; map: ClassMap } | null;
}): VitModel | string {
  const { contract, run, settings, rollout, truth, reference } = input;
  const spec = vitAttention(contract);
  if (!spec) return 'its contract declares no cls_attention over patches';
  const rows = run.outputs[spec.rows.name];
  if (!rows) return `the run has no ${spec.rows.name} output`;
  const grid = spec.rows.grid!;
  const patch = spec.rows.patch!;
  const [, layers, heads, n] = rows.dims;
  if (n !== grid[0] * grid[1])
    return `${spec.rows.name} has ${n} keys but its grid ${grid[0]}×${grid[1]} has ${grid[0] * grid[1]} patches`;
  const layer = settings.layer < 0 || settings.layer >= layers ? layers - 1 : settings.layer;
  const perHead = Array.from({ length: heads }, (_, h) =>
    rows.data.slice((layer * heads + h) * n, (layer * heads + h + 1) * n),
  );
  const mean = rollout
    ? patchesOf(rollout.row, true)
    : headMean(rows.data.slice(layer * heads * n, (layer + 1) * heads * n), heads);
  const mapName = rollout
    ? `rollout of layers 0–${rollout.upTo}${rollout.identity ? ' (½A + ½I)' : ' (no identity term)'}, head mean`
    : `layer ${layer} head mean`;
  const dino = dinoMassMask(mean, settings.mass);
  const cos = spec.cosine ? run.outputs[spec.cosine.name] : undefined;
  const cst = cos ? cstScoreMask(cos.data, cos.dims[1], settings.score).mask : null;
  let truthIoU: VitModel['truthIoU'] = null;
  if (truth) {
    // The annotation's own resolution; the run's placement scaled to it (the run saw the image at its analysed size).
    const sx = run.width / truth.width;
    const sy = run.height / truth.height;
    const place = { ...run.placement, scaleX: run.placement.scaleX * sx, scaleY: run.placement.scaleY * sy };
    const score = (m: Uint8Array) =>
      maskIoU(patchMaskToImage(m, grid, patch, truth.width, truth.height, place), truth.mask);
    truthIoU = { dino: score(dino), cst: cst ? score(cst) : null, objects: truth.objects };
  }
  const referenceIoU = reference
    ? {
        id: reference.id,
        dino: patchVsClassMapIoU(dino, grid, patch, run.placement, reference.map, run.width, run.height),
        cst: cst ? patchVsClassMapIoU(cst, grid, patch, run.placement, reference.map, run.width, run.height) : null,
      }
    : null;
  return { grid, patch, layers, heads, layer, perHead, mean, mapName, dino, cst, truthIoU, referenceIoU };
}
