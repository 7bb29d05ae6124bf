/**
 * Images inside the inference worker: decode a file once (EXIF orientation applied, huge images scaled so the
 * longest side is MAX_SIDE), identify it by a hash of its pixels, and keep the last few decoded for the runs.
 */
import { type ImageFacts, type ImageRef, MAX_SIDE } from './protocol';
import { sha256 } from './sha256';
import { SNIFF_BYTES, sniff } from './sniff';

export const displayScale = (w: number, h: number) => Math.min(1, MAX_SIDE / Math.max(w, h));

/**
 * The size an image is analysed at: its own when its longest side fits MAX_SIDE, else scaled to it, each
 * side at least 1 pixel (100000×1 → 4096×1, never 4096×0).
 */
export function analysedSize(width: number, height: number): { width: number; height: number } {
  const s = displayScale(width, height);
  return s === 1
    ? { width, height }
    : { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** The shown size the file's header gives (EXIF orientation applied), before any decoding; null if unknown. */
async function headerSize(blob: Blob): Promise<{ width: number; height: number } | null> {
  const s = sniff(new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer()));
  return s.kind === 'image' && s.width && s.height ? { width: s.width, height: s.height } : null;
}

const THUMB_SIDE = 96;
const decoded = new Map<string, ImageBitmap>();
const KEEP = 3;

async function decode(blob: Blob): Promise<{ bitmap: ImageBitmap; original: ImageFacts['original'] }> {
  // A huge image whose header gives its size is decoded straight to the analysed size: no full-size bitmap
  // (1.6 GB for 20000×20000) is ever held, only the decoder's own transient buffer.
  const header = await headerSize(blob);
  if (header && displayScale(header.width, header.height) < 1) {
    const target = analysedSize(header.width, header.height);
    try {
      const bitmap = await createImageBitmap(blob, {
        imageOrientation: 'from-image',
        resizeWidth: target.width,
        resizeHeight: target.height,
        resizeQuality: 'high',
      });
      return { bitmap, original: header };
    } catch {
      // the header lied or the decoder refused the resize: decode in full below
    }
  }
  const full = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  if (displayScale(full.width, full.height) === 1) return { bitmap: full, original: null };
  const target = analysedSize(full.width, full.height);
  try {
    const bitmap = await createImageBitmap(full, {
      resizeWidth: target.width,
      resizeHeight: target.height,
      resizeQuality: 'high',
    });
    return { bitmap, original: { width: full.width, height: full.height } };
  } finally {
    full.close();
  }
}

function keep(id: string, bitmap: ImageBitmap): void {
  const old = decoded.get(id);
  if (old && old !== bitmap) old.close();
  decoded.delete(id);
  decoded.set(id, bitmap);
  while (decoded.size > KEEP) {
    const [oldest, b] = decoded.entries().next().value as [string, ImageBitmap];
    b.close();
    decoded.delete(oldest);
  }
}

/** SHA-256 of the size and RGBA pixels, first 16 hex digits: same pixels, same id, whatever the file is called. */
async function pixelHash(bitmap: ImageBitmap): Promise<string> {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const header = new Uint32Array([bitmap.width, bitmap.height]);
  const bytes = new Uint8Array(8 + pixels.length);
  bytes.set(new Uint8Array(header.buffer), 0);
  bytes.set(pixels, 8);
  const digest = await sha256(bytes);
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function describeImage(blob: Blob): Promise<ImageFacts> {
  const { bitmap, original } = await decode(blob);
  const id = await pixelHash(bitmap);
  const s = THUMB_SIDE / Math.max(bitmap.width, bitmap.height);
  const thumbCanvas = new OffscreenCanvas(
    Math.max(1, Math.round(bitmap.width * s)),
    Math.max(1, Math.round(bitmap.height * s)),
  );
  thumbCanvas.getContext('2d')!.drawImage(bitmap, 0, 0, thumbCanvas.width, thumbCanvas.height);
  const thumb = await thumbCanvas.convertToBlob({ type: 'image/png' });
  keep(id, bitmap);
  return { id, width: bitmap.width, height: bitmap.height, original, thumb };
}

/** The decoded image for a run (decoded again if it was dropped). */
export async function imageFor(ref: ImageRef): Promise<ImageBitmap> {
  const hit = decoded.get(ref.id);
  if (hit) {
    keep(ref.id, hit);
    return hit;
  }
  const { bitmap } = await decode(ref.blob);
  keep(ref.id, bitmap);
  return bitmap;
}
