/** Foreground masks from COCO annotations (pure): the reference a ViT pseudo-mask is scored against. */
import { baseName } from './groundTruth';
import { type Rle, rleToMask } from './rle';

interface MaskAnnotation {
  image_id: number;
  segmentation?: unknown;
}
interface MaskDocument {
  images: { id: number; file_name: string }[];
  annotations: MaskAnnotation[];
}

const isRle = (s: unknown): s is Rle => {
  const r = s as { size?: unknown; counts?: unknown } | null;
  return (
    !!r && Array.isArray(r.size) && r.size.length === 2 && (typeof r.counts === 'string' || Array.isArray(r.counts))
  );
};

/**
 * Union of the RLE masks annotated on the image `fileName` (base name match), row-major 0/1, or null when the
 * document does not list the image or none of its annotations carries an RLE mask. Polygon masks are counted
 * in `skipped` (they would need rasterising at the annotator's resolution).
 */
export function cocoForeground(
  doc: MaskDocument | null,
  fileName: string,
): { mask: Uint8Array; width: number; height: number; objects: number; skipped: number } | null {
  const base = baseName(fileName);
  const image = doc?.images.find((i) => baseName(i.file_name) === base);
  if (!doc || !image) return null;
  let out: { mask: Uint8Array; width: number; height: number } | null = null;
  let objects = 0;
  let skipped = 0;
  for (const a of doc.annotations) {
    if (a.image_id !== image.id) continue;
    if (!isRle(a.segmentation)) {
      skipped++;
      continue;
    }
    const m = rleToMask(a.segmentation);
    out ??= { mask: new Uint8Array(m.width * m.height), width: m.width, height: m.height };
    if (m.width !== out.width || m.height !== out.height) throw new Error(`annotation masks of ${base} differ in size`);
    for (let i = 0; i < m.mask.length; i++) if (m.mask[i]) out.mask[i] = 1;
    objects++;
  }
  return out && { ...out, objects, skipped };
}

/** IoU of two 0/1 masks of equal size (1 when both are empty). */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`masks differ in size (${a.length} vs ${b.length})`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0;
    const y = b[i] > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 1;
}
