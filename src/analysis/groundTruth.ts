/**
 * Ground truth for the detection views (pure): COCO files (the gallery's or one the user imports, matched by
 * file_name), boxes the user draws, the teacher's detections as pseudo ground truth — and which one is used.
 */
import type { Box } from './boxes';

export interface GtObject extends Box {
  classId: number;
}

export interface Coco {
  images: { id: number; file_name: string; width?: number; height?: number }[];
  annotations: { image_id: number; bbox: number[]; category_id: number; iscrowd?: number; area?: number }[];
  categories?: { id: number; name: string }[];
}

/** A COCO detection file from text, or the reason it is not one (in words for the user). */
export function parseCoco(text: string): { ok: true; coco: Coco } | { ok: false; problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `it is not JSON (${(e as Error).message})` };
  }
  const d = doc as Partial<Coco> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.images) || !Array.isArray(d.annotations)) {
    return { ok: false, problem: 'it has no "images" and "annotations" lists (COCO detection format)' };
  }
  const images = d.images.filter((i) => i && Number.isFinite(i.id) && typeof i.file_name === 'string');
  const annotations = d.annotations.filter(
    (a) =>
      a &&
      Number.isFinite(a.image_id) &&
      Number.isFinite(a.category_id) &&
      Array.isArray(a.bbox) &&
      a.bbox.length === 4 &&
      a.bbox.every(Number.isFinite) &&
      a.bbox[2] > 0 &&
      a.bbox[3] > 0,
  );
  if (!images.length) return { ok: false, problem: 'its "images" list names no image (id and file_name)' };
  const categories = Array.isArray(d.categories)
    ? d.categories.filter((c) => c && Number.isFinite(c.id) && typeof c.name === 'string')
    : undefined;
  return { ok: true, coco: { images, annotations, categories } };
}

/**
 * Objects of the image named `fileName` (matched on the file's base name), boxes as pixel corners; null when
 * the file does not list the image. With `classes`, categories are mapped to class ids by name where a name
 * matches (case-insensitive), else the category id is taken as the class id.
 */
export function cocoObjects(
  coco: Coco | null,
  fileName: string,
  classes?: { id: number; name: string }[],
): GtObject[] | null {
  const img = cocoImage(coco, fileName);
  if (!coco || !img) return null;
  const byName = new Map((classes ?? []).map((c) => [c.name.toLowerCase(), c.id]));
  const categoryClass = new Map((coco.categories ?? []).map((c) => [c.id, byName.get(c.name.toLowerCase())]));
  return coco.annotations
    .filter((a) => a.image_id === img.id)
    .map(({ bbox: [x, y, w, h], category_id }) => ({
      classId: categoryClass.get(category_id) ?? category_id,
      x0: x,
      y0: y,
      x1: x + w,
      y1: y + h,
    }));
}

/** The COCO file's entry of the image named `fileName`: by its name, else by its base name. */
export function cocoImage(coco: Coco | null, fileName: string): Coco['images'][number] | null {
  if (!coco) return null;
  return (
    coco.images.find((i) => i.file_name === fileName) ??
    coco.images.find((i) => baseName(i.file_name) === baseName(fileName)) ??
    null
  );
}

/** A file name without its folders (COCO file_name may carry a path). */
export const baseName = (s: string): string => s.split(/[\\/]/).pop()!;

/** A box dragged from (ax, ay) to (bx, by), ordered and clipped to the width×height image; null if under minSide px. */
export function boxFromDrag(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  width: number,
  height: number,
  minSide = 2,
): Box | null {
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const box = {
    x0: clip(Math.min(ax, bx), width),
    y0: clip(Math.min(ay, by), height),
    x1: clip(Math.max(ax, bx), width),
    y1: clip(Math.max(ay, by), height),
  };
  return box.x1 - box.x0 >= minSide && box.y1 - box.y0 >= minSide ? box : null;
}

export type GtSourceKind = 'drawn' | 'imported' | 'gallery' | 'pseudo' | 'none';

export interface GtSource {
  kind: GtSourceKind;
  /** In words, for the views ("boxes you drew", …). */
  label: string;
  objects: GtObject[];
}

/**
 * Which ground truth the detection views use, first that exists: boxes the user drew on this image, the
 * user's imported COCO file, the gallery's COCO, the teacher's detections (pseudo ground truth).
 */
export function resolveGroundTruth(s: {
  drawn?: GtObject[];
  imported?: { objects: GtObject[] | null; file: string } | null;
  gallery?: GtObject[] | null;
  pseudo?: { objects: GtObject[]; model: string } | null;
}): GtSource {
  if (s.drawn?.length) return { kind: 'drawn', label: 'boxes you drew', objects: s.drawn };
  if (s.imported?.objects)
    return { kind: 'imported', label: `ground truth (imported ${s.imported.file})`, objects: s.imported.objects };
  if (s.gallery) return { kind: 'gallery', label: 'ground truth (gallery COCO)', objects: s.gallery };
  if (s.pseudo)
    return {
      kind: 'pseudo',
      label: `${s.pseudo.model}'s detections as pseudo ground truth`,
      objects: s.pseudo.objects,
    };
  return { kind: 'none', label: 'no ground truth', objects: [] };
}

/** Pixel corners in a width×height image → normalised (cx, cy, w, h), as DETR's matching uses. */
export const toCxcywh = (b: Box, width: number, height: number): [number, number, number, number] => [
  (b.x0 + b.x1) / 2 / width,
  (b.y0 + b.y1) / 2 / height,
  (b.x1 - b.x0) / width,
  (b.y1 - b.y0) / height,
];
