import { describe, expect, it } from 'vitest';
import type { Coco } from '../analysis/groundTruth';
import { maskToRle, polygonsToMask } from '../analysis/rle';
import { cocoClassMap, imageTruth } from './truth';

const square = [2, 2, 7, 2, 7, 7, 2, 7];
const coco = (segmentations: unknown[], size = 10): Coco =>
  ({
    images: [{ id: 1, file_name: 'sub/a.png', width: size, height: size }],
    annotations: segmentations.map((segmentation, i) => ({
      image_id: 1,
      category_id: i + 1,
      bbox: [0, 0, 1, 1],
      segmentation,
    })),
  }) as Coco;

describe('ground-truth class map from COCO masks', () => {
  it('polygons as pycocotools rasterises them, painted in file order (the later mask wins)', () => {
    const poly = polygonsToMask([square], 10, 10);
    const rle = new Uint8Array(100);
    rle[0] = 1;
    rle[5 * 10 + 5] = 1; // inside the square: the RLE object comes later and wins
    const { classMap, unread } = cocoClassMap(coco([[square], maskToRle(rle, 10, 10)]), 'a.png', 10, 10);
    expect(unread).toBe(0);
    const expected = Array.from(poly, (v) => v);
    expected[0] = 2;
    expected[55] = 2;
    expect([...classMap!]).toEqual(expected);
  });
  it('a COCO image twice the analysed size is read nearest-neighbour', () => {
    const { classMap } = cocoClassMap(coco([[[0, 0, 9.6, 0, 9.6, 19.6, 0, 19.6]]], 20), 'a.png', 10, 10);
    // the left half of the 20×20 image is the object: the left half of the 10×10 map
    expect([...classMap!.subarray(0, 10)]).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
  it('a broken mask is counted, its box kept; an image the file lacks has no truth', () => {
    const t = imageTruth(coco([{ size: [10, 10], counts: [5] }]), 'a.png', 10, 10);
    expect(t?.mask).toEqual({ classMap: null, unread: 1 });
    expect(t?.objects).toHaveLength(1);
    expect(imageTruth(coco([]), 'other.png', 10, 10)).toBeNull();
  });
});
