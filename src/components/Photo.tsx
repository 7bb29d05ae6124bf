import { useEffect, useRef } from 'react';
import type { ImageEntry } from '../state/store';

/**
 * The photo under an overlay, drawn on a canvas from one decode shared by every Photo of the image and closed
 * when none shows it. Not an <img> of the file: Chromium keeps the full-size decode (cc's image decode cache,
 * purged only under memory pressure) and ~0.6 MB of encoded bytes of every image an <img> ever showed, so
 * stepping through 200 dropped 640×480 images grew the renderer by ~1.8 MB an image (scripts/bench-memory.mjs).
 */
const decodes = new Map<string, { bitmap: Promise<ImageBitmap>; users: number }>();

function acquire(image: ImageEntry): Promise<ImageBitmap> {
  let d = decodes.get(image.id);
  if (!d) {
    // A downscaled image is decoded at its analysed size: a 20000×20000 photo would hold 1.6 GB at full size.
    const size = image.original
      ? { resizeWidth: image.width, resizeHeight: image.height, resizeQuality: 'high' as const }
      : {};
    d = { bitmap: createImageBitmap(image.blob, { imageOrientation: 'from-image', ...size }), users: 0 };
    decodes.set(image.id, d);
  }
  d.users++;
  return d.bitmap;
}

function release(image: ImageEntry): void {
  const d = decodes.get(image.id);
  if (!d || --d.users > 0) return;
  decodes.delete(image.id);
  void d.bitmap.then((b) => b.close()).catch(() => undefined);
}

/** Lend `use` the image's shared decode (at its analysed size), kept open until it is done (exports, the report). */
export async function withDecodedImage<T>(image: ImageEntry, use: (bitmap: ImageBitmap) => T | Promise<T>): Promise<T> {
  try {
    return await use(await acquire(image));
  } finally {
    release(image);
  }
}

/** Canvas pixels per layout pixel: room for the panes' zoom before the photo looks soft (capped at its own size). */
const DETAIL = 4;

/** A stand-in <img> of the image's natural size (its name as alt text, its box for layout): never painted. */
const placeholder = (w: number, h: number) =>
  `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"/>`)}`;

export function Photo({ image, testId }: { image: ImageEntry; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    let live = true;
    acquire(image)
      .then((bitmap) => {
        if (!live) return;
        const side = Math.max(c.clientWidth, c.clientHeight) * (window.devicePixelRatio || 1) * DETAIL;
        const s = side > 0 ? Math.min(1, side / Math.max(bitmap.width, bitmap.height)) : 1; // 0: not laid out
        c.width = Math.max(1, Math.round(bitmap.width * s));
        c.height = Math.max(1, Math.round(bitmap.height * s));
        const ctx = c.getContext('2d')!;
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(bitmap, 0, 0, c.width, c.height);
      })
      .catch(() => undefined); // not decodable here: the worker already said so when the image was opened
    return () => {
      live = false;
      release(image);
    };
  }, [image]);
  return (
    <>
      <img
        src={placeholder(image.original?.width ?? image.width, image.original?.height ?? image.height)}
        alt={image.name}
        data-testid={testId}
        draggable={false}
        className="pointer-events-none invisible absolute inset-0 h-full w-full select-none"
      />
      <canvas ref={canvas} aria-hidden className="pointer-events-none absolute inset-0 h-full w-full" />
    </>
  );
}

/** A box with the image's own aspect ratio (never squashed), `side` px on its longer side. */
export const imageBox = (image: { width: number; height: number }, side: number) =>
  image.width >= image.height
    ? { width: side, height: (side * image.height) / image.width }
    : { width: (side * image.width) / image.height, height: side };
