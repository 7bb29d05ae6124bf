import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ApDetection, type ApTruth, type BoxAp, BoxApAccumulator } from './cocoAp';

type Box = [number, number, number, number];
interface Case {
  name: string;
  gt: {
    images: { id: number }[];
    annotations: { image_id: number; category_id: number; bbox: Box; area: number; iscrowd: number }[];
    categories: { id: number }[];
  };
  detections: { image_id: number; category_id: number; bbox: Box; score: number }[];
  pooled: BoxAp;
  per_image: ({ image_id: number } & BoxAp)[];
}

/** Made by ml/scripts/make_coco_ap_cases.py with pycocotools' COCOeval. */
const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures/coco-ap-cases.json'), 'utf8')) as { cases: Case[] };

function expectAp(actual: BoxAp, expected: BoxAp, what: string) {
  for (const key of ['ap', 'ap50'] as const) {
    if (expected[key] === null) expect(actual[key], `${what} ${key}`).toBeNull();
    else expect(actual[key], `${what} ${key}`).toBeCloseTo(expected[key], 12);
  }
}

describe('BoxApAccumulator against pycocotools', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const ap = new BoxApAccumulator(c.gt.categories.map((k) => k.id));
    // pycocotools pools images in ascending id (sorted params.imgIds): added here in descending id, with their ids
    const images = [...c.gt.images].sort((a, b) => b.id - a.id);
    for (const image of images) {
      const truth: ApTruth[] = c.gt.annotations
        .filter((a) => a.image_id === image.id)
        .map((a) => ({ bbox: a.bbox, category: a.category_id, crowd: a.iscrowd === 1, area: a.area }));
      const detections: ApDetection[] = c.detections
        .filter((d) => d.image_id === image.id)
        .map((d) => ({ bbox: d.bbox, score: d.score, category: d.category_id }));
      const own = c.per_image.find((p) => p.image_id === image.id)!;
      expectAp(ap.addImage(truth, detections, image.id), own, `image ${image.id}`);
    }
    expect(ap.images).toBe(images.length);
    expectAp(ap.result(), c.pooled, 'pooled');
  });
});

const truthAt = (bbox: Box, crowd = false): ApTruth => ({ bbox, category: 1, crowd });
const detectionAt = (bbox: Box, score: number): ApDetection => ({ bbox, score, category: 1 });

describe('BoxApAccumulator by hand', () => {
  it('one object found exactly: AP 1', () => {
    // Precision is tp / (tp + fp + eps), a hair under 1, at all 101 recall thresholds and 10 IoU thresholds.
    const ap = new BoxApAccumulator([1]);
    const own = ap.addImage([truthAt([0, 0, 10, 10])], [detectionAt([0, 0, 10, 10], 0.9)]);
    expect(own.ap).toBeCloseTo(1, 12);
    expect(own.ap50).toBeCloseTo(1, 12);
    expect(ap.result()).toEqual(own);
  });

  it('one detection at IoU 0.6: AP50 1, AP 0.3', () => {
    // [0,0,10,6] in [0,0,10,10]: IoU 60/100 = 0.6, a match at thresholds .5, .55 and .6 (iouThrs[2] is the double
    // 0.6), none at .65 … .95: precision ≈ 1 at 3 of 10 thresholds, 0 at the rest.
    const ap = new BoxApAccumulator([1]);
    const own = ap.addImage([truthAt([0, 0, 10, 10])], [detectionAt([0, 0, 10, 6], 0.9)]);
    expect(own.ap).toBeCloseTo(0.3, 12);
    expect(own.ap50).toBeCloseTo(1, 12);
  });

  it('a false positive scored above the true positive halves AP', () => {
    // Two objects, one found. False positive first: recall [0, 0.5], precision [0, 0.5], enveloped [0.5, 0.5];
    // recall thresholds 0 … 0.5 (51 of 101) read 0.5, the rest 0 (past the last detection): 25.5 / 101.
    const truth = [truthAt([0, 0, 10, 10]), truthAt([50, 0, 10, 10])];
    const fpFirst = new BoxApAccumulator([1]).addImage(truth, [
      detectionAt([200, 200, 10, 10], 0.9),
      detectionAt([0, 0, 10, 10], 0.8),
    ]);
    expect(fpFirst.ap).toBeCloseTo(25.5 / 101, 12);
    // True positive first: precision [1, 0.5], enveloped the same; recall thresholds 0 … 0.5 read 1: 51 / 101.
    const tpFirst = new BoxApAccumulator([1]).addImage(truth, [
      detectionAt([200, 200, 10, 10], 0.7),
      detectionAt([0, 0, 10, 10], 0.8),
    ]);
    expect(tpFirst.ap).toBeCloseTo(51 / 101, 12);
    expect(tpFirst.ap50).toBeCloseTo(51 / 101, 12);
  });

  it('a crowd region absorbs detections without false positives', () => {
    // [110,110,10,10] lies inside the crowd [100,100,50,50]: against a crowd IoU is intersection over the
    // detection's own area, 1, so it matches the crowd and is ignored; the object found alone gives AP ≈ 1.
    const truth = [truthAt([0, 0, 10, 10]), truthAt([100, 100, 50, 50], true)];
    const detections = [detectionAt([110, 110, 10, 10], 0.9), detectionAt([130, 130, 10, 10], 0.8)];
    const withCrowd = new BoxApAccumulator([1]).addImage(truth, [...detections, detectionAt([0, 0, 10, 10], 0.5)]);
    expect(withCrowd.ap).toBeCloseTo(1, 12);
    // Not a crowd: it is one more object to find, and the two detections are false positives above the hit.
    truth[1] = truthAt([100, 100, 50, 50]);
    const withoutCrowd = new BoxApAccumulator([1]).addImage(truth, [...detections, detectionAt([0, 0, 10, 10], 0.5)]);
    expect(withoutCrowd.ap).toBeLessThan(0.5);
  });

  it('pools images and leaves out other categories and empty images', () => {
    const ap = new BoxApAccumulator([1, 2]);
    expect(ap.result()).toEqual({ ap: null, ap50: null });
    // Nothing of a known category: this image has no AP of its own.
    expect(ap.addImage([], [{ bbox: [0, 0, 5, 5], score: 0.9, category: 3 }])).toEqual({ ap: null, ap50: null });
    ap.addImage([truthAt([0, 0, 10, 10])], [detectionAt([0, 0, 10, 10], 0.9)]);
    ap.addImage([truthAt([0, 0, 10, 10])], []);
    // Two objects of category 1, one found with the only detection: recall thresholds 0 … 0.5 read ≈ 1.
    expect(ap.result().ap).toBeCloseTo(51 / 101, 12);
    expect(ap.images).toBe(3);
  });
});
