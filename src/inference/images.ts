/**
 * Images inside the inference worker: decode a file once (EXIF orientation applied, huge images scaled so the
 * longest side is MAX_SIDE), identify it by a hash of its pixels, and keep the last few decoded for the runs.
 */
import { type ImageFacts, type ImageRef, MAX_SIDE } from './protocol';

export const displayScale = (w: number, h: number) => Math.min(1, MAX_SIDE / Math.max(w, h));

const THUMB_SIDE = 96;
const decoded = new Map<string, ImageBitmap>();
const KEEP = 3;

async function decode(blob: Blob): Promise<{ bitmap: ImageBitmap; original: ImageFacts['original'] }> {
  const full = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  const scale = displayScale(full.width, full.height);
  if (scale === 1) return { bitmap: full, original: null };
  const bitmap = await createImageBitmap(full, {
    resizeWidth: Math.max(1, Math.round(full.width * scale)),
    resizeHeight: Math.max(1, Math.round(full.height * scale)),
    resizeQuality: 'high',
  });
  const original = { width: full.width, height: full.height };
  full.close();
  return { bitmap, original };
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
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
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
