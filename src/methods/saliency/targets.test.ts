/** From the view to a job: which output saliency reads per zoo contract, its target, budget and ground truth. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import { encodeMask } from '../../analysis/rle';
import { type Contract, loadContract } from '../../contract';
import type { Run } from '../../state/runs';
import { passCount } from './compute';
import { SALIENCY_DEFAULTS } from './index';
import {
  answeredClass,
  batchFor,
  classesOf,
  cocoRegions,
  occlusionOf,
  saliencyOutput,
  specOf,
  targetOf,
} from './targets';

const zoo = (id: string): Contract => {
  const bytes = new Uint8Array(readFileSync(join(__dirname, `../../../public/models/${id}.onnx`)));
  return (loadContract(bytes) as { contract: Contract }).contract;
};
const seg = zoo('seg-student-plain');
const vit = zoo('vit-attn');
const detr = zoo('detr-student-o2o');

const runOf = (outputs: Run['outputs']): Run => ({
  modelId: 'm',
  imageId: 'i',
  outputs,
  milliseconds: 1,
  width: 160,
  height: 160,
  placement: placement(160, 160, { shape: [1, 3, 160, 160], layout: 'NCHW', resize: 'stretch' }),
  bytes: 0,
});

describe('what saliency reads', () => {
  it('a segmenter its logits, a detector its one-to-one block, a classifier its class logits', () => {
    expect(saliencyOutput(seg)?.kind).toBe('segment');
    expect(saliencyOutput(zoo('sak-student'))?.kind).toBe('segment'); // its segmentation, not its labels
    expect(saliencyOutput(detr)?.kind).toBe('detection');
    const v = saliencyOutput(vit);
    expect(v?.kind === 'class' && [v.activation, v.labels]).toEqual(['sigmoid', [1, 2, 3, 4, 5, 6]]);
    expect(classesOf(seg)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(classesOf(detr)).toEqual([]);
  });

  it("answers the class a model gives: a classifier's top label, a segmenter's commonest non-background class", () => {
    const logits = Float32Array.from([0, 3, 1, 0, 0, 0]);
    expect(answeredClass(vit, runOf({ label_logits: { data: logits, dims: [1, 6] } }))).toBe(2);
    // 7 classes over 4 pixels: background, 3, 3, 5
    const data = new Float32Array(7 * 4);
    for (const [pixel, k] of [0, 3, 3, 5].entries()) data[k * 4 + pixel] = 5;
    expect(answeredClass(seg, runOf({ seg_logits: { data, dims: [1, 7, 2, 2] } }))).toBe(3);
  });

  it('targets: the class index or channel, or why not; a detection its own box and class vector', () => {
    const run = runOf({});
    expect(targetOf(vit, run, { classId: 4, measure: 'area', detection: null })).toEqual({
      kind: 'class',
      output: 'label_logits',
      index: 3,
      activation: 'sigmoid',
    });
    expect(targetOf(vit, run, { classId: 0, measure: 'area', detection: null })).toBe(
      'it does not classify background',
    );
    expect(targetOf(seg, run, { classId: 2, measure: 'area', detection: null })).toEqual({
      kind: 'segment',
      output: 'seg_logits',
      channel: 2,
      measure: 'area',
    });
    expect(targetOf(detr, run, { classId: 2, measure: 'area', detection: null })).toMatch(/no detection chosen/);
    const logits = new Float32Array(40 * 6).fill(-5);
    logits[7 * 6 + 2] = 5; // query 7: label 3
    const boxes = new Float32Array(40 * 4).fill(0.5);
    boxes.set([0.25, 0.5, 0.5, 0.25], 7 * 4);
    const t = targetOf(
      detr,
      runOf({ 'o2o.logits': { data: logits, dims: [1, 40, 6] }, 'o2o.boxes': { data: boxes, dims: [1, 40, 4] } }),
      {
        classId: 0,
        measure: 'area',
        detection: { block: 'one_to_one', query: 7 },
      },
    );
    expect(t).toMatchObject({ kind: 'detection', logits: 'o2o.logits', boxes: 'o2o.boxes', activation: 'sigmoid' });
    if (typeof t === 'string' || t.kind !== 'detection') throw new Error('no detection target');
    expect(t.box).toEqual({ x0: 0, y0: 60, x1: 80, y1: 100 }); // cxcywh of the 160-px input
    expect(t.probs[2]).toBeCloseTo(1 / (1 + Math.exp(-5)));
  });
});

describe('budget', () => {
  it('occlusion from the smallest input side when left at 0, else the % given', () => {
    const auto = occlusionOf(SALIENCY_DEFAULTS, [160, 320]);
    expect(auto.stride).toBeCloseTo(10 / 160);
    expect(auto.patch).toBeCloseTo(20 / 160);
    expect(auto.auto).toBe(true);
    const set = occlusionOf({ ...SALIENCY_DEFAULTS, patch: 25, stride: 10 }, [160]);
    expect([set.patch, set.stride, set.auto]).toEqual([0.25, 0.1, false]);
    // 15 × 15 positions, the image and its fill, 2 × 15 curve passes
    expect(passCount(specOf({ ...SALIENCY_DEFAULTS, method: 'occlusion' }, [160]))).toBe(225 + 2 + 30);
    expect(passCount(specOf(SALIENCY_DEFAULTS, [160]))).toBe(500 + 2 + 30);
  });

  it('keeps p away from 0 and 1 (RISE divides by it), and batches only an open batch axis', () => {
    const s = specOf({ ...SALIENCY_DEFAULTS, keep: 0 }, [160]);
    expect(s.method.kind === 'rise' && s.method.rise.keep).toBe(0.05);
    expect(batchFor(seg, false)).toBe(1);
    expect(batchFor(seg, true)).toBe(32);
    expect(batchFor({ ...seg, input: { ...seg.input, shape: [1, 3, 1024, 1024] } }, true)).toBe(2);
  });
});

describe('ground truth for the pointing game', () => {
  it('regions of one class from COCO, categories matched by name, masks from RLE, scaled to the analysed size', () => {
    const mask = new Uint8Array(20 * 10);
    mask[5 * 20 + 4] = 1;
    const coco = {
      images: [{ id: 9, file_name: 'dir/a.png', width: 20, height: 10 }],
      annotations: [
        { image_id: 9, bbox: [2, 2, 4, 4], category_id: 77, segmentation: encodeMask(mask, 20, 10) },
        { image_id: 9, bbox: [10, 1, 2, 2], category_id: 78 },
      ],
      categories: [
        { id: 77, name: 'Nut' },
        { id: 78, name: 'bolt' },
      ],
    };
    const classes = [
      { id: 1, name: 'bolt' },
      { id: 2, name: 'nut' },
    ];
    const nuts = cocoRegions(coco, 'a.png', 2, classes, { width: 40, height: 20 })!;
    expect(nuts).toHaveLength(1);
    expect([nuts[0].x0, nuts[0].y0, nuts[0].x1, nuts[0].y1]).toEqual([4, 4, 12, 12]);
    expect(nuts[0].mask?.data[5 * 20 + 4]).toBe(1);
    expect(cocoRegions(coco, 'a.png', 1, classes, { width: 20, height: 10 })).toEqual([
      { x0: 10, y0: 1, x1: 12, y1: 3 },
    ]);
    expect(cocoRegions(coco, 'b.png', 1, classes, { width: 20, height: 10 })).toBeNull();
  });
});
