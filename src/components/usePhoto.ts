import { useEffect, type RefObject } from 'react';
import type { ImageEntry } from '../state/store';

/** Paint the current image, at its own resolution, into a canvas that the overlays sit on. */
export function usePhoto(canvas: RefObject<HTMLCanvasElement | null>, image: ImageEntry | undefined): void {
  useEffect(() => {
    const c = canvas.current;
    if (!c || !image) return;
    c.width = image.bitmap.width;
    c.height = image.bitmap.height;
    c.getContext('2d')!.drawImage(image.bitmap, 0, 0);
  }, [canvas, image]);
}
