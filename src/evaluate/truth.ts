/**
 * Ground truth of one image for a data-set run (pure): the COCO boxes (as the panes read them) and a class map
 * painted from the COCO masks — RLE masks in file order, each pixel the class of the last mask covering it,
 * 0 elsewhere (as ml/attnlens_ml/evaluate.py truth_mask). Masks are RLE (either form) or polygons, rasterised
 * as pycocotools does, at the size the COCO file gives the image.
 */
import { type Coco, cocoImage, cocoObjects, type GtObject } from '../analysis/groundTruth';
import { polygonsToMask, type Rle, rleToMask } from '../analysis/rle';
import type { ApTruth } from './cocoAp';

type Segmentation = Rle | number[][] | undefined;

export interface TruthMask {
  classMap: Uint8Array | null;
  /** Masks that could not be read (broken RLE). */
  unread: number;
}

/** The class map of `fileName` at width×height (a mask of another size is read nearest-neighbour). */
export function cocoClassMap(
  coco: Coco,
  fileName: string,
  width: number,
  height: number,
  classes?: { id: number; name: string }[],
): TruthMask {
  const img = cocoImage(coco, fileName);
  if (!img) return { classMap: null, unread: 0 };
  const byName = new Map((classes ?? []).map((c) => [c.name.toLowerCase(), c.id]));
  const categoryClass = new Map((coco.categories ?? []).map((c) => [c.id, byName.get(c.name.toLowerCase())]));
  let map: Uint8Array | null = null;
  let unread = 0;
  // Polygons are in the pixels of the image the COCO file describes (its size, else the analysed one).
  const cocoHeight = img.height ?? height;
  const cocoWidth = img.width ?? width;
  for (const a of coco.annotations) {
    if (a.image_id !== img.id) continue;
    const seg = (a as { segmentation?: Segmentation }).segmentation;
    if (!seg) continue;
    let mask: ReturnType<typeof rleToMask>;
    try {
      mask = Array.isArray(seg)
        ? { mask: polygonsToMask(seg, cocoHeight, cocoWidth), width: cocoWidth, height: cocoHeight }
        : rleToMask(seg);
    } catch {
      unread++;
      continue; // a broken mask is no evidence; its box still counts
    }
    map ??= new Uint8Array(width * height);
    const cls = Math.min(254, categoryClass.get(a.category_id) ?? a.category_id);
    for (let y = 0; y < height; y++) {
      const my = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
      for (let x = 0; x < width; x++) {
        const mx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
        if (mask.mask[my * mask.width + mx]) map[y * width + x] = cls;
      }
    }
  }
  return { classMap: map, unread };
}

/** Boxes and class map of an image from a COCO file; null when the file does not list it. */
export function imageTruth(
  coco: Coco | null,
  fileName: string,
  width: number,
  height: number,
  classes?: { id: number; name: string }[],
): { objects: GtObject[]; mask: TruthMask } | null {
  if (!coco) return null;
  const objects = cocoObjects(coco, fileName, classes);
  if (!objects) return null;
  return { objects, mask: cocoClassMap(coco, fileName, width, height, classes) };
}

/** The COCO file's category ids (as pycocotools' getCatIds); a file without categories: those its boxes use. */
export function cocoCategoryIds(coco: Coco): number[] {
  const ids = coco.categories?.length ? coco.categories.map((c) => c.id) : coco.annotations.map((a) => a.category_id);
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** The image's COCO boxes as COCO AP reads them (bbox as written, category id, crowd, area); null when not listed. */
export function cocoApTruth(coco: Coco | null, fileName: string): ApTruth[] | null {
  const img = cocoImage(coco, fileName);
  if (!coco || !img) return null;
  return coco.annotations
    .filter((a) => a.image_id === img.id)
    .map((a) => ({
      bbox: [a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]],
      category: a.category_id,
      crowd: Boolean(a.iscrowd),
      ...(Number.isFinite(a.area) ? { area: a.area } : {}),
    }));
}
