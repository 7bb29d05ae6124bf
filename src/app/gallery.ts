/** The bundled gallery's COCO annotations (boxes and RLE masks): ground truth for the gallery samples. */
import { useEffect, useState } from 'react';
import { type Coco, cocoObjects, type GtObject } from '../analysis/groundTruth';
import type { ImageEntry } from '../state/store';

const base = import.meta.env.BASE_URL;
let cocoPromise: Promise<Coco | null> | null = null;

/** Fetched once; null when it is missing. */
export const loadGalleryCoco = () =>
  (cocoPromise ??= fetch(`${base}samples/coco.json`).then(
    (r) => (r.ok ? r.json() : null),
    () => null,
  ));

export function useGalleryCoco(): Coco | null {
  const [coco, setCoco] = useState<Coco | null>(null);
  useEffect(() => void loadGalleryCoco().then(setCoco), []);
  return coco;
}

/** Ground-truth objects of a gallery sample, boxes as pixel corners; null for the user's own images. */
export const galleryObjects = (coco: Coco | null, image: ImageEntry): GtObject[] | null =>
  image.source === 'gallery' ? cocoObjects(coco, image.name) : null;
