import { describe, expect, it } from 'vitest';
import { cocoForeground, maskIoU } from './cocoMasks';
import { maskToRle } from './rle';

const W = 5;
const H = 4;
const maskOf = (cells: [number, number][]) => {
  const m = new Uint8Array(W * H);
  for (const [x, y] of cells) m[y * W + x] = 1;
  return m;
};

describe('COCO foreground', () => {
  const a = maskOf([
    [0, 0],
    [1, 0],
    [1, 1],
  ]);
  const b = maskOf([
    [1, 1],
    [4, 3],
  ]);
  const doc = {
    images: [
      { id: 7, file_name: 'dir/one.png' },
      { id: 8, file_name: 'two.png' },
    ],
    annotations: [
      { image_id: 7, segmentation: maskToRle(a, W, H) },
      { image_id: 8, segmentation: maskToRle(a, W, H) },
      { image_id: 7, segmentation: maskToRle(b, W, H) },
      { image_id: 7, segmentation: [[0, 0, 1, 0, 1, 1]] }, // a polygon: counted, not drawn
    ],
  };

  it("is the union of the image's RLE masks, matched on the base file name", () => {
    const fg = cocoForeground(doc, 'one.png')!;
    expect([fg.width, fg.height, fg.objects, fg.skipped]).toEqual([W, H, 2, 1]);
    expect(Array.from(fg.mask)).toEqual(
      Array.from(
        maskOf([
          [0, 0],
          [1, 0],
          [1, 1],
          [4, 3],
        ]),
      ),
    );
  });

  it('is null for an image the document does not list, or without masks', () => {
    expect(cocoForeground(doc, 'three.png')).toBeNull();
    expect(
      cocoForeground({ images: [{ id: 1, file_name: 'x.png' }], annotations: [{ image_id: 1 }] }, 'x.png'),
    ).toBeNull();
    expect(cocoForeground(null, 'one.png')).toBeNull();
  });

  it('IoU counts intersection over union', () => {
    expect(maskIoU(a, b)).toBeCloseTo(1 / 4);
    expect(maskIoU(a, a)).toBe(1);
    expect(maskIoU(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    expect(() => maskIoU(a, new Uint8Array(3))).toThrow(/differ in size/);
  });
});
