import { describe, expect, it } from 'vitest';
import { boxFromDrag, cocoObjects, parseCoco, resolveGroundTruth, toCxcywh } from './groundTruth';

const coco = {
  images: [
    { id: 7, file_name: 'photos/line-3.jpg' },
    { id: 8, file_name: 'other.png' },
  ],
  annotations: [
    { image_id: 7, bbox: [10, 20, 30, 40], category_id: 11 },
    { image_id: 8, bbox: [0, 0, 5, 5], category_id: 12 },
    { image_id: 7, bbox: [1, 2, 3, 4], category_id: 12 },
  ],
  categories: [
    { id: 11, name: 'Gear' },
    { id: 12, name: 'sprocket' },
  ],
};

describe('parseCoco', () => {
  it('accepts a COCO detection file and drops malformed annotations', () => {
    const text = JSON.stringify({
      ...coco,
      annotations: [
        ...coco.annotations,
        { image_id: 7, bbox: [1, 2, 0, 4], category_id: 1 },
        { image_id: 7, bbox: 'x' },
      ],
    });
    const r = parseCoco(text);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.coco.annotations).toHaveLength(3);
  });
  it('names why a file is not one', () => {
    expect(parseCoco('{')).toMatchObject({ ok: false, problem: expect.stringMatching(/not JSON/) });
    expect(parseCoco('{"images": []}')).toMatchObject({ ok: false, problem: expect.stringMatching(/"annotations"/) });
    expect(parseCoco('{"images": [], "annotations": []}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/names no image/),
    });
  });
});

describe('cocoObjects', () => {
  it('matches the image by file name (or base name) and gives pixel corners', () => {
    expect(cocoObjects(coco, 'line-3.jpg')).toEqual([
      { classId: 11, x0: 10, y0: 20, x1: 40, y1: 60 },
      { classId: 12, x0: 1, y0: 2, x1: 4, y1: 6 },
    ]);
    expect(cocoObjects(coco, 'missing.png')).toBeNull();
    expect(cocoObjects(null, 'line-3.jpg')).toBeNull();
  });
  it('maps categories to class ids by name where they match', () => {
    const classes = [
      { id: 0, name: 'background' },
      { id: 4, name: 'gear' },
    ];
    expect(cocoObjects(coco, 'line-3.jpg', classes)!.map((o) => o.classId)).toEqual([4, 12]);
  });
});

describe('boxFromDrag', () => {
  it('orders corners and clips to the image', () => {
    expect(boxFromDrag(50, 60, -5, 10, 40, 100)).toEqual({ x0: 0, y0: 10, x1: 40, y1: 60 });
  });
  it('rejects a click (no real drag)', () => {
    expect(boxFromDrag(5, 5, 6, 30, 100, 100)).toBeNull();
  });
});

describe('resolveGroundTruth', () => {
  const o = (x: number) => ({ classId: 1, x0: x, y0: x, x1: x + 1, y1: x + 1 });
  it('uses drawn boxes first, then an imported file, the gallery, the teacher', () => {
    const all = {
      drawn: [o(1)],
      imported: { objects: [o(2)], file: 'mine.json' },
      gallery: [o(3)],
      pseudo: { objects: [o(4)], model: 'detr-teacher' },
    };
    expect(resolveGroundTruth(all)).toMatchObject({ kind: 'drawn', objects: [o(1)] });
    expect(resolveGroundTruth({ ...all, drawn: [] })).toMatchObject({
      kind: 'imported',
      label: 'ground truth (imported mine.json)',
    });
    expect(resolveGroundTruth({ ...all, drawn: [], imported: { objects: null, file: 'mine.json' } })).toMatchObject({
      kind: 'gallery',
    });
    expect(resolveGroundTruth({ pseudo: all.pseudo, gallery: null })).toMatchObject({
      kind: 'pseudo',
      label: "detr-teacher's detections as pseudo ground truth",
    });
    expect(resolveGroundTruth({})).toMatchObject({ kind: 'none', objects: [] });
  });
  it('converts to normalised cxcywh', () => {
    expect(toCxcywh({ x0: 10, y0: 20, x1: 30, y1: 60 }, 100, 200)).toEqual([0.2, 0.2, 0.2, 0.2]);
  });
});
