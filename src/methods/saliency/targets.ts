/**
 * From the view to a job (pure): which output of a model saliency reads, what it explains (a class, a
 * detection), the job's masks and budget, and the ground truth the pointing game uses.
 */
import { inputSize } from '../../analysis/geometry';
import type { GtObject } from '../../analysis/groundTruth';
import { baseName } from '../../analysis/groundTruth';
import { polygonsToMask, type Rle, rleToMask } from '../../analysis/rle';
import { argmaxClasses, NO_CLASS } from '../../analysis/segmentation';
import type { Contract, ContractOutput } from '../../contract';
import type { Run } from '../../state/runs';
import { type BlockName, type QueryBlock, queryBlock } from '../detr/contract';
import { type OcclusionOptions, patchStarts, type SaliencySpec, type TruthRegion } from './compute';
import type { SaliencySettings } from './index';
import { proposalsOf, type ScoreTarget } from './scores';

export type SaliencyOutput =
  | { kind: 'segment'; output: ContractOutput }
  | { kind: 'detection'; block: QueryBlock }
  | { kind: 'class'; output: ContractOutput; activation: 'softmax' | 'sigmoid'; labels: number[] };

/** What saliency explains for a model: its segmentation logits, else its one-to-one box block, else its class logits. */
export function saliencyOutput(c: Contract): SaliencyOutput | null {
  const seg = c.outputs.find((o) => o.role === 'segmentation_logits');
  if (seg) return { kind: 'segment', output: seg };
  const block = queryBlock(c, 'one_to_one');
  if (block) return { kind: 'detection', block };
  const cls = c.outputs.find((o) => o.role === 'class_logits') ?? c.outputs.find((o) => o.role === 'multilabel_logits');
  if (!cls) return null;
  const width = cls.shape[cls.shape.length - 1];
  return {
    kind: 'class',
    output: cls,
    activation: cls.role === 'class_logits' ? 'softmax' : 'sigmoid',
    labels: cls.labels ?? Array.from({ length: width }, (_, k) => k),
  };
}

/** Class ids a model can be asked about (a segmenter's channels are its classes in order). */
export function classesOf(c: Contract): number[] {
  const o = saliencyOutput(c);
  if (o?.kind === 'class') return o.labels;
  if (o?.kind === 'segment') return c.classes.slice(0, o.output.shape[1]).map((k) => k.id);
  return [];
}

/**
 * The class a model answers on this image: a classifier's top class; a segmenter's most frequent class other
 * than its first (background), by argmax pixels; null when it has none.
 */
export function answeredClass(c: Contract, run: Run): number | null {
  const o = saliencyOutput(c);
  if (!o || o.kind === 'detection') return null;
  const t = run.outputs[o.output.name];
  const reduced = run.classMaps?.[o.output.name]; // a data-set run's class map stands for the logits
  if (!t && !reduced) return null;
  if (o.kind === 'class') {
    if (!t) return null;
    let best = 0;
    for (let k = 1; k < o.labels.length; k++) if (t.data[k] > t.data[best]) best = k;
    return o.labels[best] ?? null;
  }
  const classMap = reduced ? reduced.data : argmaxClasses(t.data, t.dims[1], t.dims[2], t.dims[3]);
  const counts = new Array<number>(NO_CLASS).fill(0);
  for (const k of classMap) if (k !== NO_CLASS) counts[k]++; // a pixel with a NaN logit counts for no class
  let top = -1;
  for (let k = 1; k < NO_CLASS; k++) if (counts[k] > 0 && (top < 0 || counts[k] > counts[top])) top = k;
  return top < 0 ? null : (c.classes[top]?.id ?? top);
}

/** A detection of a model to explain: a query of one of its blocks (the clicked one, or its match). */
export interface DetectionChoice {
  block: BlockName;
  query: number;
}

/**
 * A model's score target for the view's choice, or why it has none (in words). A detection's target is its
 * own query on the unmasked image — box and class-probability vector, read as every masked pass reads its
 * proposals (so an unmasked pass scores 1).
 */
export function targetOf(
  c: Contract,
  run: Run,
  choice: { classId: number; measure: 'probability' | 'area'; detection: DetectionChoice | null },
): ScoreTarget | string {
  const o = saliencyOutput(c);
  const name = (id: number) => c.classes.find((k) => k.id === id)?.name ?? `class ${id}`;
  if (!o) return 'it has no classification, segmentation or detection output';
  if (o.kind === 'class') {
    const index = o.labels.indexOf(choice.classId);
    if (index < 0) return `it does not classify ${name(choice.classId)}`;
    return { kind: 'class', output: o.output.name, index, activation: o.activation };
  }
  if (o.kind === 'segment') {
    const channel = c.classes.findIndex((k) => k.id === choice.classId);
    if (channel < 0 || channel >= o.output.shape[1]) return `it does not segment ${name(choice.classId)}`;
    return { kind: 'segment', output: o.output.name, channel, measure: choice.measure };
  }
  if (!choice.detection) return 'no detection chosen: click one in a pane, or pick one here';
  const block = queryBlock(c, choice.detection.block) ?? o.block;
  const logits = run.outputs[block.logits.name];
  const boxes = run.outputs[block.boxes.name];
  if (!logits || !boxes) return `the run has no ${block.logits.name} / ${block.boxes.name}`;
  const activation = block.logits.activation ?? 'sigmoid';
  const boxFormat = block.boxes.box_format ?? 'cxcywh_normalized';
  const { width, height } = inputSize(c.input);
  const proposal = proposalsOf(logits, boxes, activation, boxFormat, width, height)[choice.detection.query];
  if (!proposal) return `its block has no query ${choice.detection.query}`;
  return {
    kind: 'detection',
    logits: block.logits.name,
    boxes: block.boxes.name,
    activation,
    boxFormat,
    box: proposal.box,
    probs: [...proposal.probs],
  };
}

/** What a target scores, in words (the caption over a map). */
export function describeTarget(c: Contract, t: ScoreTarget): string {
  const name = (id: number | undefined) =>
    id === undefined ? '?' : (c.classes.find((k) => k.id === id)?.name ?? `class ${id}`);
  if (t.kind === 'class') {
    const o = saliencyOutput(c);
    const label = o?.kind === 'class' ? o.labels[t.index] : undefined;
    return t.activation === 'softmax' ? `P(${name(label)}), softmax` : `P(${name(label)}), sigmoid`;
  }
  if (t.kind === 'segment')
    return t.measure === 'probability'
      ? `mean P(${name(c.classes[t.channel]?.id)}) over the image`
      : `share of the image's pixels labelled ${name(c.classes[t.channel]?.id)}`;
  return 'D-RISE: IoU × class-vector cosine with the detection, best proposal';
}

/**
 * Occlusion patch and stride as fractions of the image's side: the view's % when set, else from the smallest
 * model input side S among the models compared (stride S/16 px, patch twice that: 15×15 positions), so both
 * models see the same patches.
 */
export function occlusionOf(settings: SaliencySettings, inputSides: number[]): OcclusionOptions & { auto: boolean } {
  const side = inputSides.length ? Math.max(1, Math.min(...inputSides)) : 1;
  const strideAuto = Math.max(1, Math.round(side / 16)) / side;
  const stride = settings.stride > 0 ? settings.stride / 100 : strideAuto;
  const patch = settings.patch > 0 ? settings.patch / 100 : Math.min(1, 2 * strideAuto);
  return { patch, stride, auto: settings.patch <= 0 || settings.stride <= 0 };
}

/** The job's masks, fill and curves from the view's settings. */
export function specOf(settings: SaliencySettings, inputSides: number[]): SaliencySpec {
  const { patch, stride } = occlusionOf(settings, inputSides);
  return {
    method:
      settings.method === 'rise'
        ? {
            kind: 'rise',
            // p is 0..1 in a link; RISE divides by it, and p = 1 keeps every cell (no mask at all)
            rise: {
              masks: settings.masks,
              cells: settings.cells,
              keep: Math.min(0.95, Math.max(0.05, settings.keep)),
              seed: settings.seed,
            },
          }
        : { kind: 'occlusion', occlusion: { patch, stride } },
    fill: settings.fill,
    steps: settings.steps,
  };
}

export const occlusionPositions = (o: OcclusionOptions) => patchStarts(o.patch, o.stride).length ** 2;

/** Bytes of stacked input one session run may take: a batch of masked images stays within it. */
const BATCH_BYTES = 32 * 1024 * 1024;

/** Masked images per session run: up to 32 for a graph whose batch axis is open, else 1. */
export function batchFor(c: Contract, batchable: boolean): number {
  if (!batchable) return 1;
  const floats = c.input.shape.slice(1).reduce((a, b) => a * b, 1);
  return Math.max(1, Math.min(32, Math.floor(BATCH_BYTES / (4 * floats))));
}

interface CocoLike {
  images: { id: number; file_name: string; width?: number; height?: number }[];
  annotations: { image_id: number; bbox: number[]; category_id: number; segmentation?: unknown }[];
  categories?: { id: number; name: string }[];
}

/**
 * Regions of one class in a COCO document's entry for the image (base-name match), in the analysed image's
 * pixels (the file's own size scaled to width×height): boxes, and masks from RLE or polygon segmentations.
 * Categories map to class ids by name where one matches, else by id. Null when the document lacks the image.
 */
export function cocoRegions(
  coco: CocoLike | null,
  fileName: string,
  classId: number,
  classes: { id: number; name: string }[],
  image: { width: number; height: number },
): TruthRegion[] | null {
  const entry = coco?.images.find((i) => baseName(i.file_name) === baseName(fileName));
  if (!coco || !entry) return null;
  const byName = new Map(classes.map((c) => [c.name.toLowerCase(), c.id]));
  const classOf = (category: number) => {
    const named = coco.categories?.find((c) => c.id === category)?.name.toLowerCase();
    const mapped = named === undefined ? undefined : byName.get(named);
    return mapped ?? category;
  };
  const fileW = entry.width ?? image.width;
  const fileH = entry.height ?? image.height;
  const [sx, sy] = [image.width / fileW, image.height / fileH];
  return coco.annotations
    .filter((a) => a.image_id === entry.id && classOf(a.category_id) === classId)
    .map((a) => {
      const [x, y, w, h] = a.bbox;
      const region: TruthRegion = { x0: x * sx, y0: y * sy, x1: (x + w) * sx, y1: (y + h) * sy };
      const mask = maskOf(a.segmentation, fileW, fileH);
      return mask ? { ...region, mask } : region;
    });
}

function maskOf(seg: unknown, width: number, height: number): TruthRegion['mask'] | undefined {
  try {
    if (Array.isArray(seg) && seg.every((p) => Array.isArray(p)))
      return { data: polygonsToMask(seg as number[][], height, width), width, height };
    const r = seg as { size?: unknown; counts?: unknown } | null;
    if (r && Array.isArray(r.size) && (typeof r.counts === 'string' || Array.isArray(r.counts))) {
      const m = rleToMask(r as Rle);
      return { data: m.mask, width: m.width, height: m.height };
    }
  } catch {
    // an unreadable segmentation: the box stands for it
  }
  return undefined;
}

/** Boxes the user drew of one class, as regions. */
export const drawnRegions = (drawn: GtObject[], classId: number): TruthRegion[] =>
  drawn.filter((o) => o.classId === classId).map(({ x0, y0, x1, y1 }) => ({ x0, y0, x1, y1 }));
