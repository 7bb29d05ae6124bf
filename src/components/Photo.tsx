import type { ImageEntry } from '../state/store';

/** The image under an overlay: the user's file itself (the browser decodes and frees it), filling its box. */
export function Photo({ image, testId }: { image: ImageEntry; testId?: string }) {
  return (
    <img
      src={image.url}
      alt={image.name}
      data-testid={testId}
      draggable={false}
      className="pointer-events-none absolute inset-0 h-full w-full select-none"
    />
  );
}

/** A box with the image's own aspect ratio (never squashed), `side` px on its longer side. */
export const imageBox = (image: { width: number; height: number }, side: number) =>
  image.width >= image.height
    ? { width: side, height: (side * image.height) / image.width }
    : { width: (side * image.width) / image.height, height: side };
